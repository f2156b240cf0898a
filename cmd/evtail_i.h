/*
 * evtail_i.h - evtail -i, the interactive session (cmd/evtail_i.c).
 */
#ifndef EVTAIL_I_H
#define EVTAIL_I_H

/* Open LOG and run the session: from a terminal with readline, else one
 * command a line from stdin.  color: --color's WHEN, or NULL.  An exit
 * status. */
int evtail_interactive(const char *logpath, const char *color,
		       const char *usage);

#endif
