-- Argo CD health check for Passbox ClusterCredential and PipelineCredential (passbox.dev).
-- Both kinds share one status contract, so one script serves both (see argocd-cm-patch.yaml).
-- Argo CD runs it with the resource in `obj` and expects {status = ..., message = ...}.
--
--   Ready=True                                       -> Healthy
--   Ready=False, reason Progressing, WaitingForValidation or AdminNotReady
--                                                    (a managed user waits for its admin credential)
--                                                    -> Progressing (not final yet)
--   Ready=False, AdminNotReady because the admin credential named in
--   spec.provisioning.adminCredentialRef does not exist, for a minute
--   (Stalled=True)                                   -> Degraded (nothing will come of waiting)
--                                                       (before: Progressing, as an admin applied in
--                                                       the same sync, after its user, is created next)
--   Ready=False, any other reason                    -> Degraded, "<reason>: <message>"
--   no status, no Ready, Ready=Unknown               -> Progressing
--   status older than the spec (observedGeneration)  -> Progressing
--   being deleted while DeletionBlocked=True         -> Progressing, naming the users
--
-- Written for Lua 5.1 (Argo CD's interpreter); also runs unchanged on Lua 5.4.

local hs = {status = "Progressing", message = "Waiting for the operator to report status"}

-- Ready=False reasons that mean "still working", not a failure a person must act on.
local transient = {Progressing = true, WaitingForValidation = true, AdminNotReady = true}

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  local reason = c.reason or ""
  local message = c.message or ""
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  if reason ~= "" then
    return reason
  end
  return fallback
end

-- AdminNotReady covers an admin credential that is not Ready yet (its first check; a failing one shows Degraded itself)
-- and one that does not exist at all, most often a misspelled adminCredentialRef: the operator says which only in the
-- message, "admin ClusterCredential <name> does not exist in namespace <namespace>". Waiting on that stays Progressing
-- forever, so it is a failure a person must act on, once the operator says so: Stalled=True, a minute after the check
-- that found the admin missing. Before that the admin may simply come next (applied in the same sync, after its user).
local function admin_missing(c, stalled)
  if c.reason ~= "AdminNotReady" or c.message == nil or stalled == nil or stalled.status ~= "True" then
    return false
  end
  local provisioning = (obj.spec or {}).provisioning or {}
  local admin = (provisioning.adminCredentialRef or {}).name
  if admin == nil or admin == "" then
    return false
  end
  return string.find(c.message, "admin ClusterCredential " .. admin .. " does not exist in namespace", 1, true) ~= nil
end

local status = obj.status
local metadata = obj.metadata or {}
if status == nil then
  return hs
end

local conditions = status.conditions

-- Deletion held by in-use protection is a wait for workloads to let go, not a failure: the
-- credential and its Secret keep working until then. Argo CD usually reports a resource with a
-- deletionTimestamp as Progressing before it runs this script; this keeps the message useful.
if metadata.deletionTimestamp ~= nil then
  local blocked = condition(conditions, "DeletionBlocked")
  if blocked ~= nil and blocked.status == "True" then
    hs.message = describe(blocked, "Deletion is blocked while the credential is in use")
    return hs
  end
  hs.message = "Being deleted"
  return hs
end

-- A status written for an older spec says nothing about the current one.
local generation = metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(conditions, "Ready")
if ready == nil then
  return hs
end
if ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if ready.status == "False" and (not transient[ready.reason or ""] or admin_missing(ready, condition(conditions, "Stalled"))) then
  hs.status = "Degraded"
  hs.message = describe(ready, "Not ready")
  return hs
end

hs.message = describe(ready, hs.message)
return hs
