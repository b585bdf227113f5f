-- Approve the gate the operator waits at: copy status.approval.waitingFor into the
-- tfe.operators.dev/approve annotation. Approving an id the operator is not waiting
-- for does nothing, so the action refuses when there is no pending approval.
local approval = nil
if obj.status ~= nil then
  approval = obj.status.approval
end
if approval == nil or type(approval.waitingFor) ~= "string" or approval.waitingFor == "" then
  error("TfeCluster " .. obj.metadata.name .. " is not waiting for an approval", 0)
end
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["tfe.operators.dev/approve"] = approval.waitingFor
return obj
