-- POST load balancers with 25 nodes each.
local token = os.getenv("TOKEN")
local nodes = {}
for i = 1, 25 do
  nodes[i] = '{"address":"10.2.0.' .. i .. '","port":80,"condition":"ENABLED"}'
end
local body = '{"loadBalancer":{"name":"bench","port":80,"protocol":"HTTP",' ..
  '"virtualIps":[{"type":"PUBLIC"}],"nodes":[' .. table.concat(nodes, ",") .. ']}}'
request = function()
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Auth-Token"] = token}, body)
end
