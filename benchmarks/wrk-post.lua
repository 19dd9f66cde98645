-- wrk script of the fan-out benchmark: every request is a POST of the card that the
-- backend sends, read from the file named by the first script argument
-- (wrk ... -s wrk-post.lua URL -- BODY_FILE).

function init(args)
  local path = args[1]
  if path == nil then
    error("pass the card body file after --, as in: wrk -s wrk-post.lua URL -- card.json")
  end
  local file = assert(io.open(path, "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
