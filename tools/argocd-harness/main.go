// Command argocd-harness checks Argo CD resource customizations (health.lua, actions) the way a
// running Argo CD loads them: from an argocd-cm ConfigMap, through Argo CD's own settings
// manager (util/settings), health assessment (gitops-engine's health.GetResourceHealth with
// util/lua's ResourceHealthOverrides, as the application controller calls it) and action
// discovery/execution (util/lua.VM as the API server builds it: no standard Lua libraries unless
// the ConfigMap turns them on with resource.customizations.useOpenLibs.<group_kind>).
//
// The expectations are the fixtures of Argo CD's own layout beside the scripts
// (health_test.yaml, actions/action_test.yaml); discovered actions are compared as whole
// objects (name, disabled, iconClass, displayName, params), in both directions.
//
//	argocd-harness -cm argocd/argocd-cm-patch.yaml -dir argocd/resource_customizations/tfe.operators.dev
//
// Exit status 0 when every fixture matches, 1 otherwise.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/argoproj/gitops-engine/pkg/health"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"github.com/argoproj/argo-cd/v3/util/settings"
)

// The fixture files, in the layout of argo-cd's resource_customizations/ folder.
type healthTests struct {
	Tests []struct {
		InputPath    string              `json:"inputPath"`
		HealthStatus health.HealthStatus `json:"healthStatus"`
	} `json:"tests"`
}

type actionTests struct {
	DiscoveryTests []struct {
		InputPath string                 `json:"inputPath"`
		Result    []appv1.ResourceAction `json:"result"`
	} `json:"discoveryTests"`
	ActionTests []struct {
		Action               string            `json:"action"`
		InputPath            string            `json:"inputPath"`
		ExpectedOutputPath   string            `json:"expectedOutputPath"`
		ExpectedErrorMessage string            `json:"expectedErrorMessage"`
		Parameters           map[string]string `json:"parameters"`
	} `json:"actionTests"`
}

type report struct {
	checks   int
	failures []string
	verbose  bool
}

func (r *report) pass(name string) {
	r.checks++
	if r.verbose {
		fmt.Printf("ok   %s\n", name)
	}
}

func (r *report) fail(name, format string, args ...any) {
	r.checks++
	msg := fmt.Sprintf(format, args...)
	r.failures = append(r.failures, name+": "+msg)
	fmt.Printf("FAIL %s: %s\n", name, msg)
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readObj(path string) (*unstructured.Unstructured, error) {
	obj := map[string]any{}
	if err := readYAML(path, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// loadOverrides reads an argocd-cm ConfigMap from a file and lets Argo CD's settings manager
// parse it, as `argocd admin settings resource-overrides --argocd-cm-path` does.
func loadOverrides(ctx context.Context, cmPath string) (map[string]appv1.ResourceOverride, error) {
	var cm corev1.ConfigMap
	b, err := os.ReadFile(cmPath)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		return nil, fmt.Errorf("%s: %w", cmPath, err)
	}
	if cm.Name != "argocd-cm" {
		return nil, fmt.Errorf("%s: a ConfigMap named argocd-cm is expected, found %q", cmPath, cm.Name)
	}
	const ns = "argocd"
	partOf := map[string]string{"app.kubernetes.io/part-of": "argocd"}
	cm.Namespace = ns
	cm.Labels = partOf
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: ns, Labels: partOf},
		Data:       map[string][]byte{"admin.password": []byte("test"), "server.secretkey": []byte("test")},
	}
	mgr := settings.NewSettingsManager(ctx, fake.NewClientset(secret, &cm), ns)
	if err := mgr.ResyncInformers(); err != nil {
		return nil, err
	}
	return mgr.GetResourceOverrides()
}

// normalize turns an object into what its JSON says, so that numbers compare alike whether
// they came from YAML or from the Lua VM.
func normalize(v any) (any, string) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err.Error()
	}
	var out any
	_ = json.Unmarshal(b, &out)
	pretty, _ := json.MarshalIndent(out, "", "  ")
	return out, string(pretty)
}

func actionKey(a appv1.ResourceAction) string {
	b, _ := json.Marshal(a)
	return string(b)
}

func checkKind(r *report, overrides map[string]appv1.ResourceOverride, kindDir, label string) {
	// Health, exactly as the application controller assesses it.
	var ht healthTests
	if err := readYAML(filepath.Join(kindDir, "health_test.yaml"), &ht); err != nil {
		if os.IsNotExist(err) {
			return
		}
		r.fail(label+"/health_test.yaml", "%v", err)
		return
	}
	if len(ht.Tests) == 0 {
		r.fail(label+"/health_test.yaml", "no tests")
	}
	for _, t := range ht.Tests {
		name := "health " + label + "/" + t.InputPath
		obj, err := readObj(filepath.Join(kindDir, t.InputPath))
		if err != nil {
			r.fail(name, "%v", err)
			continue
		}
		key := lua.GetConfigMapKey(obj.GroupVersionKind())
		if overrides[key].HealthLua == "" {
			r.fail(name, "argocd-cm has no health.lua for %s", key)
			continue
		}
		got, err := health.GetResourceHealth(obj, lua.ResourceHealthOverrides(overrides))
		switch {
		case err != nil:
			r.fail(name, "health.lua failed: %v", err)
		case got == nil:
			r.fail(name, "no health assessed")
		case got.Status != t.HealthStatus.Status || got.Message != t.HealthStatus.Message:
			r.fail(name, "got %s %q, want %s %q", got.Status, got.Message, t.HealthStatus.Status, t.HealthStatus.Message)
		default:
			r.pass(name)
		}
	}

	// Actions, exactly as the API server discovers and runs them.
	actionsDir := filepath.Join(kindDir, "actions")
	var at actionTests
	if err := readYAML(filepath.Join(actionsDir, "action_test.yaml"), &at); err != nil {
		if os.IsNotExist(err) {
			return
		}
		r.fail(label+"/actions/action_test.yaml", "%v", err)
		return
	}
	vm := lua.VM{ResourceOverrides: overrides}
	for _, t := range at.DiscoveryTests {
		name := "discovery " + label + "/actions/" + t.InputPath
		obj, err := readObj(filepath.Join(actionsDir, t.InputPath))
		if err != nil {
			r.fail(name, "%v", err)
			continue
		}
		scripts, err := vm.GetResourceActionDiscovery(obj)
		if err != nil {
			r.fail(name, "%v", err)
			continue
		}
		got, err := vm.ExecuteResourceActionDiscovery(obj, scripts)
		if err != nil {
			r.fail(name, "discovery.lua failed: %v", err)
			continue
		}
		want := map[string]bool{}
		for _, a := range t.Result {
			want[actionKey(a)] = true
		}
		var extra, missing []string
		have := map[string]bool{}
		for _, a := range got {
			have[actionKey(a)] = true
			if !want[actionKey(a)] {
				extra = append(extra, actionKey(a))
			}
		}
		for _, a := range t.Result {
			if !have[actionKey(a)] {
				missing = append(missing, actionKey(a))
			}
		}
		sort.Strings(extra)
		sort.Strings(missing)
		if len(extra)+len(missing) > 0 {
			r.fail(name, "discovered actions differ from the fixture\n  discovered, not expected: %s\n  expected, not discovered: %s",
				strings.Join(extra, "\n                            "), strings.Join(missing, "\n                            "))
		} else {
			r.pass(name)
		}
	}
	for _, t := range at.ActionTests {
		name := "action " + label + "/actions/" + t.Action + " " + t.InputPath
		obj, err := readObj(filepath.Join(actionsDir, t.InputPath))
		if err != nil {
			r.fail(name, "%v", err)
			continue
		}
		def, err := vm.GetResourceAction(obj, t.Action)
		if err != nil {
			r.fail(name, "%v", err)
			continue
		}
		var params []*applicationpkg.ResourceActionParameters
		for k, v := range t.Parameters {
			k, v := k, v
			params = append(params, &applicationpkg.ResourceActionParameters{Name: &k, Value: &v})
		}
		impacted, err := vm.ExecuteResourceAction(obj, def.ActionLua, params)
		if t.ExpectedErrorMessage != "" {
			if err == nil || err.Error() != t.ExpectedErrorMessage {
				r.fail(name, "want the error %q, got %v", t.ExpectedErrorMessage, err)
			} else {
				r.pass(name)
			}
			continue
		}
		if err != nil {
			r.fail(name, "action.lua failed: %v", err)
			continue
		}
		if len(impacted) != 1 || impacted[0].K8SOperation != lua.PatchOperation {
			r.fail(name, "want one patch of the object itself, got %d impacted resource(s)", len(impacted))
			continue
		}
		want, err := readObj(filepath.Join(actionsDir, t.ExpectedOutputPath))
		if err != nil {
			r.fail(name, "%v", err)
			continue
		}
		gotN, gotS := normalize(impacted[0].UnstructuredObj.Object)
		wantN, wantS := normalize(want.Object)
		if !reflect.DeepEqual(gotN, wantN) {
			r.fail(name, "result differs from %s\n--- want\n%s\n--- got\n%s", t.ExpectedOutputPath, wantS, gotS)
		} else {
			r.pass(name)
		}
	}
}

func main() {
	cmPath := flag.String("cm", "argocd/argocd-cm-patch.yaml", "the argocd-cm ConfigMap (YAML file) holding the customizations")
	dir := flag.String("dir", "argocd/resource_customizations/tfe.operators.dev", "a group folder in Argo CD's resource_customizations layout: <group>/<Kind>/{health_test.yaml,actions/action_test.yaml}")
	verbose := flag.Bool("v", false, "print every check")
	flag.Parse()

	overrides, err := loadOverrides(context.Background(), *cmPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argocd-harness: %v\n", err)
		os.Exit(2)
	}
	group := filepath.Base(*dir)
	kinds, err := os.ReadDir(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argocd-harness: %v\n", err)
		os.Exit(2)
	}
	r := &report{verbose: *verbose}
	for _, k := range kinds {
		if !k.IsDir() {
			continue
		}
		key := group + "/" + k.Name()
		o, ok := overrides[key]
		if !ok {
			r.fail(key, "argocd-cm (%s) has no resource.customizations for %s", *cmPath, key)
			continue
		}
		fmt.Printf("%s: health.lua %d bytes, actions %d bytes, useOpenLibs %v\n", key, len(o.HealthLua), len(o.Actions), o.UseOpenLibs)
		checkKind(r, overrides, filepath.Join(*dir, k.Name()), key)
	}
	fmt.Printf("argocd-cm checks: %d, failures: %d\n", r.checks, len(r.failures))
	if r.checks == 0 || len(r.failures) > 0 {
		os.Exit(1)
	}
}
