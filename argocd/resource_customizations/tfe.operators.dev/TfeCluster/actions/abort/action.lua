-- Abort the change in flight; the operator rolls back to the last good launch
-- template version (status.launchTemplate.lastGoodVersion). Only where the planner has
-- something to roll back (the phases discovery.lua offers abort in): on a Ready cluster
-- there is nothing in flight, and a rollback in progress or finished is not aborted again.
local phase = nil
if obj.status ~= nil then
  phase = obj.status.phase
end
local abortable = phase == "Migrating" or phase == "Paused" or phase == "WaitingForApproval" or phase == "Degraded"
if obj.metadata.deletionTimestamp ~= nil or not abortable then
  local now = "no status yet"
  if phase ~= nil then
    now = "phase " .. tostring(phase)
  end
  if obj.metadata.deletionTimestamp ~= nil then
    now = "being deleted"
  end
  error("TfeCluster " .. obj.metadata.name .. " has nothing to abort (" .. now .. "); abort rolls back a change in flight: phase Migrating, Paused, WaitingForApproval or Degraded", 0)
end
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["tfe.operators.dev/abort"] = "true"
return obj
