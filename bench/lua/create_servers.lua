-- POST servers with a unique name per request.
local token = os.getenv("TOKEN")
local image = os.getenv("IMAGE")
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"server":{"name":"bench-' .. counter .. '-' .. math.random(1, 1000000000) ..
    '","imageRef":"' .. image .. '","flavorRef":"2"}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Auth-Token"] = token}, body)
end
