"""EC2: the 16 KB user data limit, which moto 5.2.1 does not enforce (imported by server.py,
after its own patches: it wraps server.py's CreateLaunchTemplateVersion).

AWS (EC2 user guide, "Run commands when you launch an EC2 instance with user data input":
"User data is limited to 16 KB, in raw form, before it is base64-encoded"): the limit is on
the decoded bytes, so exactly 16384 raw bytes pass and 16385 do not.
  - CreateLaunchTemplate / CreateLaunchTemplateVersion answer
      InvalidUserData.Malformed: User data is limited to 16384 bytes.
    (HTTP 400; the text as AWS returns it, quoted in github-aws-runners/terraform-aws-github-runner
    issue #3700 and hashicorp/terraform-provider-aws PR #49234).
  - RunInstances answers
      InvalidParameterValue: User data is limited to 16384 bytes
    (HTTP 400; quoted in kubermatic/kubermatic issue #144, supergiant/capacity issue #148 and
    k0sproject/k0smotron issue #892).
Patched: LaunchTemplates.create_launch_template, LaunchTemplates.create_launch_template_version
and InstanceResponse.run_instances check the decoded size first; user data that is not valid
base64 is left to them (InvalidUserData.Malformed: Invalid BASE64 encoding of user data.).
Instances an Auto Scaling group launches from a template are not checked again (the template
was checked when it was written), as in AWS.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.responses.launch_templates import LaunchTemplates

USER_DATA_LIMIT = 16384


def raw_user_data_size(value: Any) -> int | None:
    """Decoded size of base64 user data; None when it is absent or not base64."""
    if value is None:
        return None
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return None


def _guard(cls: type, name: str, param: str, error: Callable[[], EC2ClientError]) -> None:
    original = getattr(cls, name)

    def guarded(self: Any) -> Any:
        size = raw_user_data_size(self._get_param(param))
        if size is not None and size > USER_DATA_LIMIT:
            raise error()
        return original(self)

    guarded.__name__ = name
    setattr(cls, name, guarded)


def _template_error() -> EC2ClientError:
    return EC2ClientError("InvalidUserData.Malformed", f"User data is limited to {USER_DATA_LIMIT} bytes.")


def _run_instances_error() -> EC2ClientError:
    return EC2ClientError("InvalidParameterValue", f"User data is limited to {USER_DATA_LIMIT} bytes")


_guard(LaunchTemplates, "create_launch_template", "LaunchTemplateData.UserData", _template_error)
_guard(LaunchTemplates, "create_launch_template_version", "LaunchTemplateData.UserData", _template_error)
_guard(InstanceResponse, "run_instances", "UserData", _run_instances_error)
