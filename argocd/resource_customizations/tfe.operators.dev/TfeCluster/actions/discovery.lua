-- Argo CD resource actions for tfe.operators.dev/TfeCluster (discovery).
-- gopher-lua, Lua 5.1, base + table + safe os only (no string.*).
--   pause    set spec.rollout.paused: true   (the operator stops before its next step)
--   resume   set spec.rollout.paused: false
--   approve  annotate tfe.operators.dev/approve=<status.approval.waitingFor>
--   abort    annotate tfe.operators.dev/abort="true" (roll back to the last good version)
local actions = {}

local spec = obj.spec or {}
local rollout = spec.rollout or {}
local status = obj.status or {}
local annotations = obj.metadata.annotations or {}
local phase = status.phase

local paused = rollout.paused == true
local deleting = obj.metadata.deletionTimestamp ~= nil or phase == "Deleting"

local waitingFor = nil
if type(status.approval) == "table" and type(status.approval.waitingFor) == "string" and status.approval.waitingFor ~= "" then
  waitingFor = status.approval.waitingFor
end

-- Something is in flight that an abort can stop and roll back.
local abortable = phase == "Migrating" or phase == "Paused" or phase == "WaitingForApproval" or phase == "Degraded"

actions["pause"] = {
  ["disabled"] = paused or deleting,
  ["iconClass"] = "fa fa-fw fa-pause-circle",
  ["displayName"] = "Pause rollout",
}
actions["resume"] = {
  ["disabled"] = not paused or deleting,
  ["iconClass"] = "fa fa-fw fa-play-circle",
  ["displayName"] = "Resume rollout",
}
actions["approve"] = {
  ["disabled"] = waitingFor == nil or annotations["tfe.operators.dev/approve"] == waitingFor or deleting,
  ["iconClass"] = "fa fa-fw fa-check-circle",
  ["displayName"] = "Approve next step",
}
actions["abort"] = {
  ["disabled"] = not abortable or annotations["tfe.operators.dev/abort"] == "true" or deleting,
  ["iconClass"] = "fa fa-fw fa-times-circle",
  ["displayName"] = "Abort and roll back",
}
return actions
