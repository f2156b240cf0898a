-- LegacyOrder, version 1: what the old checkout service stored, with
-- line items and no amount.  It becomes an OrderCreated of version 2,
-- whose amount is the sum of its lines: a sum over an array is beyond the
-- declarative operations.  The steps of OrderCreated from 2 on follow.
return function(event)
	local d = event.data
	if type(d) ~= "table" or type(d.lines) ~= "table" or #d.lines == 0 then
		error("a LegacyOrder without lines")
	end
	local amount = 0
	for i, line in ipairs(d.lines) do
		if math.type(line.qty) ~= "integer" or
		   math.type(line.price) ~= "integer" then
			error("line " .. i .. ": qty and price must be integers")
		end
		amount = amount + line.qty * line.price
	end
	event.type = "OrderCreated"
	event.data = {customer = d.customer, amount = amount,
		      currency = d.currency}
	return event
end
