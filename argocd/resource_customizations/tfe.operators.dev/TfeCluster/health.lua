-- Argo CD health check for tfe.operators.dev/TfeCluster.
--
-- Argo CD runs this in gopher-lua (Lua 5.1) with only the base, table and a safe
-- os library loaded: no string.*, no math.*, no string methods. `obj` is the live
-- object as a Lua table; the script returns { status = ..., message = ... }.
--
--   Progressing  the operator has not yet observed the current generation
--   Degraded     the Degraded condition is True, or phase Degraded / RollingBack /
--                RolledBack (the requested change failed)
--   Suspended    paused (spec.rollout.paused or phase Paused) or waiting for an
--                approval (phase WaitingForApproval)
--   Healthy      the Ready condition is True (for the current generation)
--   Progressing  anything else, with the operator's status.message
local hs = {}

local function getCondition(status, conditionType)
  if status == nil or type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function present(s)
  return type(s) == "string" and s ~= ""
end

-- first non-empty string among the arguments
local function firstOf(a, b, c)
  if present(a) then return a end
  if present(b) then return b end
  if present(c) then return c end
  return ""
end

local status = obj.status
local generation = tonumber(obj.metadata.generation)

if type(status) ~= "table" then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe the TfeCluster"
  return hs
end

local observed = tonumber(status.observedGeneration)
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  if observed ~= nil then
    hs.message = hs.message .. " (last observed: " .. observed .. ")"
  end
  return hs
end

local phase = status.phase

local degraded = getCondition(status, "Degraded")
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = firstOf(degraded.message, status.message, degraded.reason)
  return hs
end
if phase == "Degraded" or phase == "RollingBack" or phase == "RolledBack" then
  hs.status = "Degraded"
  hs.message = firstOf(status.message, "TfeCluster is " .. phase)
  return hs
end

local paused = type(obj.spec) == "table" and type(obj.spec.rollout) == "table" and obj.spec.rollout.paused == true
if paused or phase == "Paused" then
  hs.status = "Suspended"
  if paused then
    hs.message = firstOf(status.message, "Paused by spec.rollout.paused; resume to continue")
  else
    hs.message = firstOf(status.message, "TfeCluster is paused")
  end
  return hs
end

if phase == "WaitingForApproval" then
  hs.status = "Suspended"
  local approval = status.approval
  if type(approval) == "table" and present(approval.waitingFor) then
    hs.message = "Waiting for approval of " .. approval.waitingFor
    if present(approval.description) then
      hs.message = hs.message .. ": " .. approval.description
    end
    hs.message = hs.message .. " (approve action, or annotate tfe.operators.dev/approve=" .. approval.waitingFor .. ")"
  else
    hs.message = firstOf(status.message, "Waiting for approval")
  end
  return hs
end

local ready = getCondition(status, "Ready")
if ready ~= nil and ready.status == "True" then
  -- A Ready condition carried over from an older generation does not vouch for
  -- the current spec.
  local readyGeneration = tonumber(ready.observedGeneration)
  if readyGeneration == nil or generation == nil or readyGeneration >= generation then
    hs.status = "Healthy"
    hs.message = firstOf(status.message, ready.message)
    return hs
  end
end

hs.status = "Progressing"
if present(status.message) then
  hs.message = status.message
elseif present(phase) and present(status.step) then
  hs.message = "Phase " .. phase .. ", step " .. status.step
elseif present(phase) then
  hs.message = "Phase " .. phase
else
  hs.message = "Waiting for the TfeCluster to become ready"
end
return hs
