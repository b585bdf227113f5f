-- Pause: the operator finishes nothing new; it stops before its next step.
if obj.spec.rollout == nil then
  obj.spec.rollout = {}
end
obj.spec.rollout.paused = true
return obj
