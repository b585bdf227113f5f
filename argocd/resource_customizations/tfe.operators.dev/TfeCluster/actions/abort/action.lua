-- Abort the change in flight; the operator rolls back to the last good launch
-- template version (status.launchTemplate.lastGoodVersion).
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["tfe.operators.dev/abort"] = "true"
return obj
