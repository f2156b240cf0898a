-- balance.lua: calculateBalance(events) of an event-sourced bank
-- account, as an evproject projection.  One state per account (the
-- event's stream, the default partition); deposits add to the balance,
-- withdrawals take from it.
return {
  init = function() return { balance = 0, deposits = 0, withdrawals = 0 } end,
  on = {
    MoneyDeposited = function(s, e)
      s.balance = s.balance + e.data.amount
      s.deposits = s.deposits + 1
    end,
    MoneyWithdrawn = function(s, e)
      s.balance = s.balance - e.data.amount
      s.withdrawals = s.withdrawals + 1
    end,
  },
}
