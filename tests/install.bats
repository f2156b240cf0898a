#!/usr/bin/env bats
# tests/install.bats - make install puts everything where packagers expect
# it, and a program builds against the installed library with pkg-config.

load helper

@test "make install DESTDIR PREFIX installs tools, pages, completions, library, header and evlog.pc" {
	run --separate-stderr make -C "$TOP" -s install DESTDIR="$T/root" PREFIX=/usr
	assert_status 0
	local f
	for f in bin/evpub bin/evtail bin/evctl include/evlog.h lib/libevlog.a \
		lib/pkgconfig/evlog.pc share/man/man1/evpub.1 \
		share/man/man1/evtail.1 share/man/man1/evctl.1 \
		share/man/man5/evlog.5 share/man/man5/evlog-upcast.5 \
		share/bash-completion/completions/evpub \
		share/zsh/site-functions/_evtail \
		share/fish/vendor_completions.d/evctl.fish \
		bin/evreplay share/man/man1/evreplay.1 \
		share/bash-completion/completions/evreplay \
		share/zsh/site-functions/_evreplay \
		share/fish/vendor_completions.d/evreplay.fish \
		bin/evproject share/man/man1/evproject.1 \
		share/bash-completion/completions/evproject \
		share/zsh/site-functions/_evproject \
		share/fish/vendor_completions.d/evproject.fish; do
		[ -f "$T/root/usr/$f" ] || { echo "missing $f" >&2; return 1; }
	done
	[ -x "$T/root/usr/bin/evpub" ]
	grep -qx 'prefix=/usr' "$T/root/usr/lib/pkgconfig/evlog.pc"
}

@test "a program links against the installed libevlog through pkg-config" {
	make -C "$TOP" -s install DESTDIR="$T/root" PREFIX=/usr >/dev/null
	# point the .pc at the staged tree
	mkdir pc
	sed "s|=/usr|=$T/root/usr|" "$T/root/usr/lib/pkgconfig/evlog.pc" >pc/evlog.pc
	cat >prog.c <<'C'
#include <stdio.h>
#include <evlog.h>
int main(void)
{
	char t[40];
	ev_time_t x;
	if (ev_time_parse("2025-01-10T09:30:00.123Z", 24, &x) != 0)
		return 1;
	ev_time_format(x, t);
	puts(t);
	return 0;
}
C
	# shellcheck disable=SC2046
	# a sanitizer build installs a sanitized library: link like it
	san=$(grep -o -- '-fsanitize=[^ ]*' "$TOP/.build-flags" | head -n 1 || true)
	export san
	run --separate-stderr sh -c 'cc $san -o prog prog.c $(PKG_CONFIG_PATH=pc pkg-config --cflags --libs --static evlog) && ./prog'
	assert_status 0
	assert_stdout "2025-01-10T09:30:00.123Z"
}
