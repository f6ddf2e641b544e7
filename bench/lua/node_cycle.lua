-- Add a node, then delete it: alternate POST nodes and DELETE nodes/{id}.
local token = os.getenv("TOKEN")
local pending = {}
local port = 1000
request = function()
  local id = table.remove(pending)
  if id then
    return wrk.format("DELETE", wrk.path .. "/" .. id, {["X-Auth-Token"] = token})
  end
  port = port + 1
  if port > 60000 then port = 1001 end
  local body = '{"nodes":[{"address":"10.1.' .. math.random(0, 255) .. '.' .. math.random(1, 254) ..
    '","port":' .. port .. ',"condition":"ENABLED"}]}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Auth-Token"] = token}, body)
end
response = function(status, headers, body)
  if status == 202 and body then
    local id = string.match(body, '"id"%s*:%s*(%d+)')
    if id then table.insert(pending, id) end
  end
end
