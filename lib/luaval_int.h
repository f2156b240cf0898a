/*
 * luaval_int.h - struct ev_lua: a sandboxed Lua 5.4 state, and the
 * conversion between the MessagePack values of records and Lua values
 * (luaval.c).  Upcast steps use it, and so can any later module that
 * runs Lua over events (projections).  The conversion is described for
 * users in evlog-upcast(5) "LUA STEPS".
 *
 * Only modules that run Lua include this header (it includes lua.h).
 */
#ifndef EVLOG_LUAVAL_INT_H
#define EVLOG_LUAVAL_INT_H

#include <lua.h>

#include "evlog_private.h"

/* Defaults: memory the whole state may hold, and instructions one call
 * may run. */
#define EV_LUA_MEM_LIMIT ((size_t)256 << 20)
#define EV_LUA_INSN_LIMIT 100000000ull

struct ev_lua;

/*
 * A new state with only the safe parts of the base library, string
 * (without string.dump), table, math (without random) and utf8, and the
 * evlog table (evlog.null, evlog.array, evlog.isarray).  mem_limit and
 * insn_limit: 0 for the defaults.
 */
int ev_lua_new(struct ev_lua **out, size_t mem_limit, uint64_t insn_limit,
	       struct ev_error *err);
void ev_lua_free(struct ev_lua *l);
/* Once *stop is set (by a signal), a call ends within the next 1000
 * instructions: ev_lua_protected() gives EV_EAGAIN, "interrupted". */
void ev_lua_set_stop(struct ev_lua *l, const volatile sig_atomic_t *stop);
lua_State *ev_lua_state(struct ev_lua *l);

/*
 * Run the text of a file (chunk name name; text only, never bytecode)
 * in an environment of its own, under the limits; it must return a
 * function, kept in the registry as *ref.  EV_EUSAGE with Lua's
 * "name:LINE: message" for a syntax or run-time error, or
 * "name: returns a nil value, not a function".
 */
int ev_lua_load_function(struct ev_lua *l, const char *name, const char *text,
			 size_t n, int *ref, struct ev_error *err);
/* The same for a file that returns a value of Lua type type
 * (LUA_TTABLE: a projection): "name: returns nothing, not a table". */
int ev_lua_load_value(struct ev_lua *l, const char *name, const char *text,
		      size_t n, int type, int *ref, struct ev_error *err);

/*
 * A Lua message that says where, as FILE:LINE: MESSAGE (Lua cuts a long
 * FILE to "..." and its end): the MESSAGE, with the LINE in *line
 * (*nline digits); NULL when why is not of that form for file.
 */
const char *ev_lua_split(const char *file, const char *why, const char **line,
			 size_t *nline);

/*
 * Call fn(l, ctx) in protected mode with a fresh instruction budget:
 * Lua errors raised in it (by a step, or by the conversions below, as
 * luaL_error) come back as EV_EDATA with the message in err; a memory
 * limit or instruction budget that is exhausted is worded as such.
 * Otherwise fn's return value.
 */
int ev_lua_protected(struct ev_lua *l, int (*fn)(struct ev_lua *l, void *ctx),
		     void *ctx, struct ev_error *err);

/* --- inside ev_lua_protected() only: these raise Lua errors --- */

/* Push the msgpack value at p (n bytes) as a Lua value. */
void ev_lua_push_value(struct ev_lua *l, const uint8_t *p, size_t n);
/* Push a decoded event as its table: offset, id, type, stream,
 * version, time (RFC 3339), schema, key, data (or data_base64) and
 * meta. */
void ev_lua_push_event(struct ev_lua *l, const struct ev_event *ev);
/* Is the table at idx marked as an array (evlog.array)? */
int ev_lua_is_array(struct ev_lua *l, int idx);
/* Is the table at idx, returned by a step, a list of events (no type,
 * and an array or keys from 1) rather than an event?  Raw access to its
 * elements (lua_rawlen, lua_rawgeti) is then what the step made. */
int ev_lua_is_list(struct ev_lua *l, int idx);
/* Append the Lua value at idx to out as msgpack; depth is the levels
 * it may still nest.  what names it in messages ("data").  orig (n
 * bytes), when not NULL, is the value it was made from: a number Lua
 * holds another way (a uint64 above 2^63-1) comes back as it was. */
void ev_lua_to_msgpack(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		       const char *what, const uint8_t *orig, size_t orig_n);
/*
 * The event table at idx into f: type, stream, key, version, time, data
 * (or data_base64) and meta from the table; id, schema, offset and prev
 * are the caller's to set.  Strings, data and meta point into the table
 * (its record) or into l: valid while the table is on the stack, until
 * the next call of this.
 */
void ev_lua_to_fields(struct ev_lua *l, int idx, struct ev_fields *f);

#endif
