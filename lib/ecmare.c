/*
 * ecmare.c - struct ev_ecmare: ECMA-262 regular expressions (the u flag,
 * as ajv 8 uses them for JSON Schema `pattern`, `patternProperties` and
 * the `regex` format) on PCRE2.
 *
 * PCRE2 is Perl's dialect, not ECMAScript's, so the pattern is first
 * parsed by the ECMA-262 grammar (Unicode mode: the early errors of the
 * u flag are syntax errors here) and written out again as a PCRE2
 * pattern with the ECMA meaning spelt out:
 *   .           [^\n\r\x{2028}\x{2029}]
 *   ^ $         \A \z (no multiline, no match before a final newline)
 *   \d \w       ASCII only: [0-9], [0-9A-Z_a-z] (\b is ASCII in PCRE2
 *               without PCRE2_UCP, as in ECMA)
 *   \s          ECMA WhiteSpace and LineTerminator (Zs, \ufeff, ...)
 *   \uXXXX, \u{X}, surrogate pairs, \xHH, \cX, \0, control escapes
 *               \x{...} code points; a lone surrogate matches nothing
 *               (a UTF-8 string cannot hold one)
 *   \p{...}     the ECMA property names (exact spelling), as PCRE2's
 *   (?<name>)   a plain group; \k<name> and \N become (?:\g{N})
 * Literals are written as \x{...} unless alphanumeric, so no PCRE2 syntax
 * leaks through.  The PCRE2 pattern is JIT-compiled when the platform
 * has a JIT, and searched unanchored.  A match limit keeps a hostile
 * pattern from hanging a search.
 *
 * Valid ECMA-262 that PCRE2 (10.42) cannot run is refused at compile time
 * ("not supported"), while ev_ecmare_valid() (the `regex` format, a
 * question of syntax) accepts it: a lookbehind whose branches are not of
 * fixed length ((?<=a+)), a repeat count above 65535, property values
 * newer than PCRE2's Unicode tables, a pattern too large once compiled.
 * Where the meaning still differs: PCRE2 does not reset the captures of
 * a repeated group at each iteration, so a backreference to one from a
 * later iteration sees the old value ((?:(a)|b\1)+; one inside its own
 * group is rewritten to match the empty string, as in ECMA); a lookbehind
 * matches forwards (backreferences inside it); and the Unicode data is
 * PCRE2's, not the JavaScript engine's.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "evlog.h"
#include "evlog_private.h"
#include "jschema_int.h"

/* backtracking steps and nesting of one search: enough for any sane
 * pattern on an event field, small enough to end a catastrophic one in
 * milliseconds */
#define ECMARE_MATCH_LIMIT 1000000u
#define ECMARE_DEPTH_LIMIT 10000u
#define ECMARE_HEAP_LIMIT 20000u /* KiB */
/* group nesting; PCRE2's own limit is raised to match */
#define ECMARE_MAX_DEPTH 200
/* PCRE2's largest repeat count */
#define ECMARE_MAX_REPEAT 65535u
#define ECMARE_MAX_CP 0x10ffffu

struct ev_ecmare {
	pcre2_code *code;
	int jit; /* JIT-compiled: pcre2_jit_match() (no sanity checks) */
};

/* ------------------------------------------------------------ the tables */

/* Script and Script_Extensions values ECMA-262 accepts (Unicode's
 * PropertyValueAliases: long names and 4-letter codes), byte-sorted */
static const char *const scripts[] = {
	"Adlam",
	"Adlm",
	"Aghb",
	"Ahom",
	"Anatolian_Hieroglyphs",
	"Arab",
	"Arabic",
	"Armenian",
	"Armi",
	"Armn",
	"Avestan",
	"Avst",
	"Bali",
	"Balinese",
	"Bamu",
	"Bamum",
	"Bass",
	"Bassa_Vah",
	"Batak",
	"Batk",
	"Beng",
	"Bengali",
	"Bhaiksuki",
	"Bhks",
	"Bopo",
	"Bopomofo",
	"Brah",
	"Brahmi",
	"Brai",
	"Braille",
	"Bugi",
	"Buginese",
	"Buhd",
	"Buhid",
	"Cakm",
	"Canadian_Aboriginal",
	"Cans",
	"Cari",
	"Carian",
	"Caucasian_Albanian",
	"Chakma",
	"Cham",
	"Cher",
	"Cherokee",
	"Chorasmian",
	"Chrs",
	"Common",
	"Copt",
	"Coptic",
	"Cpmn",
	"Cprt",
	"Cuneiform",
	"Cypriot",
	"Cypro_Minoan",
	"Cyrillic",
	"Cyrl",
	"Deseret",
	"Deva",
	"Devanagari",
	"Diak",
	"Dives_Akuru",
	"Dogr",
	"Dogra",
	"Dsrt",
	"Dupl",
	"Duployan",
	"Egyp",
	"Egyptian_Hieroglyphs",
	"Elba",
	"Elbasan",
	"Elym",
	"Elymaic",
	"Ethi",
	"Ethiopic",
	"Gara",
	"Garay",
	"Geor",
	"Georgian",
	"Glag",
	"Glagolitic",
	"Gong",
	"Gonm",
	"Goth",
	"Gothic",
	"Gran",
	"Grantha",
	"Greek",
	"Grek",
	"Gujarati",
	"Gujr",
	"Gukh",
	"Gunjala_Gondi",
	"Gurmukhi",
	"Guru",
	"Gurung_Khema",
	"Han",
	"Hang",
	"Hangul",
	"Hani",
	"Hanifi_Rohingya",
	"Hano",
	"Hanunoo",
	"Hatr",
	"Hatran",
	"Hebr",
	"Hebrew",
	"Hira",
	"Hiragana",
	"Hluw",
	"Hmng",
	"Hmnp",
	"Hung",
	"Imperial_Aramaic",
	"Inherited",
	"Inscriptional_Pahlavi",
	"Inscriptional_Parthian",
	"Ital",
	"Java",
	"Javanese",
	"Kaithi",
	"Kali",
	"Kana",
	"Kannada",
	"Katakana",
	"Kawi",
	"Kayah_Li",
	"Khar",
	"Kharoshthi",
	"Khitan_Small_Script",
	"Khmer",
	"Khmr",
	"Khoj",
	"Khojki",
	"Khudawadi",
	"Kirat_Rai",
	"Kits",
	"Knda",
	"Krai",
	"Kthi",
	"Lana",
	"Lao",
	"Laoo",
	"Latin",
	"Latn",
	"Lepc",
	"Lepcha",
	"Limb",
	"Limbu",
	"Lina",
	"Linb",
	"Linear_A",
	"Linear_B",
	"Lisu",
	"Lyci",
	"Lycian",
	"Lydi",
	"Lydian",
	"Mahajani",
	"Mahj",
	"Maka",
	"Makasar",
	"Malayalam",
	"Mand",
	"Mandaic",
	"Mani",
	"Manichaean",
	"Marc",
	"Marchen",
	"Masaram_Gondi",
	"Medefaidrin",
	"Medf",
	"Meetei_Mayek",
	"Mend",
	"Mende_Kikakui",
	"Merc",
	"Mero",
	"Meroitic_Cursive",
	"Meroitic_Hieroglyphs",
	"Miao",
	"Mlym",
	"Modi",
	"Mong",
	"Mongolian",
	"Mro",
	"Mroo",
	"Mtei",
	"Mult",
	"Multani",
	"Myanmar",
	"Mymr",
	"Nabataean",
	"Nag_Mundari",
	"Nagm",
	"Nand",
	"Nandinagari",
	"Narb",
	"Nbat",
	"New_Tai_Lue",
	"Newa",
	"Nko",
	"Nkoo",
	"Nshu",
	"Nushu",
	"Nyiakeng_Puachue_Hmong",
	"Ogam",
	"Ogham",
	"Ol_Chiki",
	"Ol_Onal",
	"Olck",
	"Old_Hungarian",
	"Old_Italic",
	"Old_North_Arabian",
	"Old_Permic",
	"Old_Persian",
	"Old_Sogdian",
	"Old_South_Arabian",
	"Old_Turkic",
	"Old_Uyghur",
	"Onao",
	"Oriya",
	"Orkh",
	"Orya",
	"Osage",
	"Osge",
	"Osma",
	"Osmanya",
	"Ougr",
	"Pahawh_Hmong",
	"Palm",
	"Palmyrene",
	"Pau_Cin_Hau",
	"Pauc",
	"Perm",
	"Phag",
	"Phags_Pa",
	"Phli",
	"Phlp",
	"Phnx",
	"Phoenician",
	"Plrd",
	"Prti",
	"Psalter_Pahlavi",
	"Qaac",
	"Qaai",
	"Rejang",
	"Rjng",
	"Rohg",
	"Runic",
	"Runr",
	"Samaritan",
	"Samr",
	"Sarb",
	"Saur",
	"Saurashtra",
	"Sgnw",
	"Sharada",
	"Shavian",
	"Shaw",
	"Shrd",
	"Sidd",
	"Siddham",
	"SignWriting",
	"Sind",
	"Sinh",
	"Sinhala",
	"Sogd",
	"Sogdian",
	"Sogo",
	"Sora",
	"Sora_Sompeng",
	"Soyo",
	"Soyombo",
	"Sund",
	"Sundanese",
	"Sunu",
	"Sunuwar",
	"Sylo",
	"Syloti_Nagri",
	"Syrc",
	"Syriac",
	"Tagalog",
	"Tagb",
	"Tagbanwa",
	"Tai_Le",
	"Tai_Tham",
	"Tai_Viet",
	"Takr",
	"Takri",
	"Tale",
	"Talu",
	"Tamil",
	"Taml",
	"Tang",
	"Tangsa",
	"Tangut",
	"Tavt",
	"Telu",
	"Telugu",
	"Tfng",
	"Tglg",
	"Thaa",
	"Thaana",
	"Thai",
	"Tibetan",
	"Tibt",
	"Tifinagh",
	"Tirh",
	"Tirhuta",
	"Tnsa",
	"Todhri",
	"Todr",
	"Toto",
	"Tulu_Tigalari",
	"Tutg",
	"Ugar",
	"Ugaritic",
	"Unknown",
	"Vai",
	"Vaii",
	"Vith",
	"Vithkuqi",
	"Wancho",
	"Wara",
	"Warang_Citi",
	"Wcho",
	"Xpeo",
	"Xsux",
	"Yezi",
	"Yezidi",
	"Yi",
	"Yiii",
	"Zanabazar_Square",
	"Zanb",
	"Zinh",
	"Zyyy",
	"Zzzz",
};

struct alias {
	const char *name, *pcre;
};

/* General_Category values, long and short, to PCRE2's short names */
static const struct alias categories[] = {
	{"C", "C"},
	{"Cased_Letter", "L&"},
	{"Cc", "Cc"},
	{"Cf", "Cf"},
	{"Close_Punctuation", "Pe"},
	{"Cn", "Cn"},
	{"Co", "Co"},
	{"Combining_Mark", "M"},
	{"Connector_Punctuation", "Pc"},
	{"Control", "Cc"},
	{"Cs", "Cs"},
	{"Currency_Symbol", "Sc"},
	{"Dash_Punctuation", "Pd"},
	{"Decimal_Number", "Nd"},
	{"Enclosing_Mark", "Me"},
	{"Final_Punctuation", "Pf"},
	{"Format", "Cf"},
	{"Initial_Punctuation", "Pi"},
	{"L", "L"},
	{"LC", "L&"},
	{"Letter", "L"},
	{"Letter_Number", "Nl"},
	{"Line_Separator", "Zl"},
	{"Ll", "Ll"},
	{"Lm", "Lm"},
	{"Lo", "Lo"},
	{"Lowercase_Letter", "Ll"},
	{"Lt", "Lt"},
	{"Lu", "Lu"},
	{"M", "M"},
	{"Mark", "M"},
	{"Math_Symbol", "Sm"},
	{"Mc", "Mc"},
	{"Me", "Me"},
	{"Mn", "Mn"},
	{"Modifier_Letter", "Lm"},
	{"Modifier_Symbol", "Sk"},
	{"N", "N"},
	{"Nd", "Nd"},
	{"Nl", "Nl"},
	{"No", "No"},
	{"Nonspacing_Mark", "Mn"},
	{"Number", "N"},
	{"Open_Punctuation", "Ps"},
	{"Other", "C"},
	{"Other_Letter", "Lo"},
	{"Other_Number", "No"},
	{"Other_Punctuation", "Po"},
	{"Other_Symbol", "So"},
	{"P", "P"},
	{"Paragraph_Separator", "Zp"},
	{"Pc", "Pc"},
	{"Pd", "Pd"},
	{"Pe", "Pe"},
	{"Pf", "Pf"},
	{"Pi", "Pi"},
	{"Po", "Po"},
	{"Private_Use", "Co"},
	{"Ps", "Ps"},
	{"Punctuation", "P"},
	{"S", "S"},
	{"Sc", "Sc"},
	{"Separator", "Z"},
	{"Sk", "Sk"},
	{"Sm", "Sm"},
	{"So", "So"},
	{"Space_Separator", "Zs"},
	{"Spacing_Mark", "Mc"},
	{"Surrogate", "Cs"},
	{"Symbol", "S"},
	{"Titlecase_Letter", "Lt"},
	{"Unassigned", "Cn"},
	{"Uppercase_Letter", "Lu"},
	{"Z", "Z"},
	{"Zl", "Zl"},
	{"Zp", "Zp"},
	{"Zs", "Zs"},
	{"cntrl", "Cc"},
	{"digit", "Nd"},
	{"punct", "P"},
};

/* the binary properties of ECMA-262 (table-binary-unicode-properties),
 * long and short, to PCRE2's names; ASCII, Any and Assigned are done
 * here */
static const struct alias binprops[] = {
	{"AHex", "ASCII_Hex_Digit"},
	{"ASCII", NULL},
	{"ASCII_Hex_Digit", "ASCII_Hex_Digit"},
	{"Alpha", "Alphabetic"},
	{"Alphabetic", "Alphabetic"},
	{"Any", NULL},
	{"Assigned", NULL},
	{"Bidi_C", "Bidi_Control"},
	{"Bidi_Control", "Bidi_Control"},
	{"Bidi_M", "Bidi_Mirrored"},
	{"Bidi_Mirrored", "Bidi_Mirrored"},
	{"CI", "Case_Ignorable"},
	{"CWCF", "Changes_When_Casefolded"},
	{"CWCM", "Changes_When_Casemapped"},
	{"CWKCF", "Changes_When_NFKC_Casefolded"},
	{"CWL", "Changes_When_Lowercased"},
	{"CWT", "Changes_When_Titlecased"},
	{"CWU", "Changes_When_Uppercased"},
	{"Case_Ignorable", "Case_Ignorable"},
	{"Cased", "Cased"},
	{"Changes_When_Casefolded", "Changes_When_Casefolded"},
	{"Changes_When_Casemapped", "Changes_When_Casemapped"},
	{"Changes_When_Lowercased", "Changes_When_Lowercased"},
	{"Changes_When_NFKC_Casefolded", "Changes_When_NFKC_Casefolded"},
	{"Changes_When_Titlecased", "Changes_When_Titlecased"},
	{"Changes_When_Uppercased", "Changes_When_Uppercased"},
	{"DI", "Default_Ignorable_Code_Point"},
	{"Dash", "Dash"},
	{"Default_Ignorable_Code_Point", "Default_Ignorable_Code_Point"},
	{"Dep", "Deprecated"},
	{"Deprecated", "Deprecated"},
	{"Dia", "Diacritic"},
	{"Diacritic", "Diacritic"},
	{"EBase", "Emoji_Modifier_Base"},
	{"EComp", "Emoji_Component"},
	{"EMod", "Emoji_Modifier"},
	{"EPres", "Emoji_Presentation"},
	{"Emoji", "Emoji"},
	{"Emoji_Component", "Emoji_Component"},
	{"Emoji_Modifier", "Emoji_Modifier"},
	{"Emoji_Modifier_Base", "Emoji_Modifier_Base"},
	{"Emoji_Presentation", "Emoji_Presentation"},
	{"Ext", "Extender"},
	{"ExtPict", "Extended_Pictographic"},
	{"Extended_Pictographic", "Extended_Pictographic"},
	{"Extender", "Extender"},
	{"Gr_Base", "Grapheme_Base"},
	{"Gr_Ext", "Grapheme_Extend"},
	{"Grapheme_Base", "Grapheme_Base"},
	{"Grapheme_Extend", "Grapheme_Extend"},
	{"Hex", "Hex_Digit"},
	{"Hex_Digit", "Hex_Digit"},
	{"IDC", "ID_Continue"},
	{"IDS", "ID_Start"},
	{"IDSB", "IDS_Binary_Operator"},
	{"IDST", "IDS_Trinary_Operator"},
	{"IDS_Binary_Operator", "IDS_Binary_Operator"},
	{"IDS_Trinary_Operator", "IDS_Trinary_Operator"},
	{"ID_Continue", "ID_Continue"},
	{"ID_Start", "ID_Start"},
	{"Ideo", "Ideographic"},
	{"Ideographic", "Ideographic"},
	{"Join_C", "Join_Control"},
	{"Join_Control", "Join_Control"},
	{"LOE", "Logical_Order_Exception"},
	{"Logical_Order_Exception", "Logical_Order_Exception"},
	{"Lower", "Lowercase"},
	{"Lowercase", "Lowercase"},
	{"Math", "Math"},
	{"NChar", "Noncharacter_Code_Point"},
	{"Noncharacter_Code_Point", "Noncharacter_Code_Point"},
	{"Pat_Syn", "Pattern_Syntax"},
	{"Pat_WS", "Pattern_White_Space"},
	{"Pattern_Syntax", "Pattern_Syntax"},
	{"Pattern_White_Space", "Pattern_White_Space"},
	{"QMark", "Quotation_Mark"},
	{"Quotation_Mark", "Quotation_Mark"},
	{"RI", "Regional_Indicator"},
	{"Radical", "Radical"},
	{"Regional_Indicator", "Regional_Indicator"},
	{"SD", "Soft_Dotted"},
	{"STerm", "Sentence_Terminal"},
	{"Sentence_Terminal", "Sentence_Terminal"},
	{"Soft_Dotted", "Soft_Dotted"},
	{"Term", "Terminal_Punctuation"},
	{"Terminal_Punctuation", "Terminal_Punctuation"},
	{"UIdeo", "Unified_Ideograph"},
	{"Unified_Ideograph", "Unified_Ideograph"},
	{"Upper", "Uppercase"},
	{"Uppercase", "Uppercase"},
	{"VS", "Variation_Selector"},
	{"Variation_Selector", "Variation_Selector"},
	{"White_Space", "White_Space"},
	{"XIDC", "XID_Continue"},
	{"XIDS", "XID_Start"},
	{"XID_Continue", "XID_Continue"},
	{"XID_Start", "XID_Start"},
	{"space", "White_Space"},
};

/* the ECMA sets, as sorted code point ranges */
struct range {
	uint32_t lo, hi;
};
static const struct range set_d[] = {{0x30, 0x39}};
static const struct range set_w[] = {{0x30, 0x39},
				     {0x41, 0x5a},
				     {0x5f, 0x5f},
				     {0x61, 0x7a}};
/* WhiteSpace (TAB VT FF SP NBSP ZWNBSP and Zs) and LineTerminator */
static const struct range set_s[] = {{0x09, 0x0d},     {0x20, 0x20},
				     {0xa0, 0xa0},     {0x1680, 0x1680},
				     {0x2000, 0x200a}, {0x2028, 0x2029},
				     {0x202f, 0x202f}, {0x205f, 0x205f},
				     {0x3000, 0x3000}, {0xfeff, 0xfeff}};
static const struct range set_ascii[] = {{0, 0x7f}};
static const struct range set_any[] = {{0, ECMARE_MAX_CP}};

#define NRANGES(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ the parser */

struct group_name {
	char *s;
	size_t n;
	unsigned num;
};

/* an ECMA character class being collected: ranges and PCRE2 \p items */
struct cls {
	struct range *r;
	size_t n, cap;
	struct ev_buf props;
};

struct tr {
	const char *start, *p, *end;
	struct ev_buf out;
	int pass;	  /* 1: find the groups; 2: check references too */
	unsigned ngroups; /* capturing groups so far */
	unsigned total;	  /* capturing groups in the whole pattern */
	struct group_name *names;
	size_t nnames;
	int depth;
	unsigned open[ECMARE_MAX_DEPTH + 1]; /* capturing groups now open */
	int nopen;
	int syntax;	 /* 0 ok; <0 a syntax error (msg) */
	int unsupported; /* valid ECMA that PCRE2 cannot do (msg) */
	int oom;
	size_t erroff;
	char msg[160];
	/* (output offset, pattern offset) at each term, to place PCRE2's
	 * errors in the ECMA pattern */
	size_t (*map)[2];
	size_t nmap, capmap;
};

static int syntax_error(struct tr *t, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int syntax_error(struct tr *t, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (t->syntax == 0 && !t->oom) {
		t->syntax = -1;
		t->erroff = (size_t)(at - t->start);
		va_start(ap, fmt);
		vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* valid ECMA-262 that this translation cannot hand to PCRE2: noted, the
 * parse goes on (the `regex` format only asks about the syntax) */
static void unsupported(struct tr *t, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void unsupported(struct tr *t, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (t->unsupported)
		return;
	t->unsupported = 1;
	if (t->syntax)
		return;
	t->erroff = (size_t)(at - t->start);
	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
}

static int out_mem(struct tr *t)
{
	t->oom = 1;
	return -1;
}

static int put(struct tr *t, const char *s)
{
	return ev_buf_puts(&t->out, s) == 0 ? 0 : out_mem(t);
}

static int put_cp(struct ev_buf *b, uint32_t c)
{
	char tmp[16];

	snprintf(tmp, sizeof(tmp), "\\x{%x}", (unsigned)c);
	return ev_buf_puts(b, tmp);
}

static void mark(struct tr *t)
{
	size_t(*m)[2];

	if (t->nmap == t->capmap) {
		size_t cap = t->capmap ? t->capmap * 2 : 64;
		m = realloc(t->map, cap * sizeof(*m));
		if (m == NULL) {
			t->oom = 1;
			return;
		}
		t->map = m;
		t->capmap = cap;
	}
	t->map[t->nmap][0] = t->out.len;
	t->map[t->nmap][1] = (size_t)(t->p - t->start);
	t->nmap++;
}

/* One code point of the (valid UTF-8) pattern at t->p, advancing. */
static uint32_t next_cp(struct tr *t)
{
	const unsigned char *s = (const unsigned char *)t->p;
	uint32_t c = s[0];
	int n = 0;

	if (c >= 0xf0)
		c &= 0x07, n = 3;
	else if (c >= 0xe0)
		c &= 0x0f, n = 2;
	else if (c >= 0xc0)
		c &= 0x1f, n = 1;
	t->p++;
	while (n-- > 0 && t->p < t->end)
		c = (c << 6) | ((unsigned char)*t->p++ & 0x3f);
	return c;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* n hex digits at p (all there), or -1 */
static long hex_n(const char *p, const char *end, int n)
{
	long v = 0;
	int i, h;

	if (end - p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((h = hexval((unsigned char)p[i])) < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * RegExpUnicodeEscapeSequence[+UnicodeMode], t->p just after "\u":
 * \uXXXX (a lead and a trail surrogate escaped in a row make one code
 * point) or \u{X...} up to 10FFFF.  The code point, or -1.
 */
static long unicode_escape(struct tr *t, const char *esc)
{
	long v, w;
	const char *q;

	if (t->p < t->end && *t->p == '{') {
		v = 0;
		for (q = t->p + 1; q < t->end && hexval((unsigned char)*q) >= 0;
		     q++) {
			v = v * 16 + hexval((unsigned char)*q);
			if (v > (long)ECMARE_MAX_CP)
				return syntax_error(t, esc,
						    "\\u{...} above 10FFFF");
		}
		if (q == t->p + 1 || q >= t->end || *q != '}')
			return syntax_error(t, esc, "invalid unicode escape");
		t->p = q + 1;
		return v;
	}
	if ((v = hex_n(t->p, t->end, 4)) < 0)
		return syntax_error(t, esc, "invalid unicode escape");
	t->p += 4;
	if (v >= 0xd800 && v <= 0xdbff && t->end - t->p >= 6 &&
	    t->p[0] == '\\' && t->p[1] == 'u' &&
	    (w = hex_n(t->p + 2, t->end, 4)) >= 0xdc00 && w <= 0xdfff) {
		t->p += 6;
		v = 0x10000 + ((v - 0xd800) << 10) + (w - 0xdc00);
	}
	return v;
}

static int is_syntax_char(int c)
{
	return c != 0 && strchr("^$\\.*+?()[]{}|", c) != NULL;
}

/*
 * CharacterEscape[+UnicodeMode] at t->p (just after the backslash at
 * esc): control escapes, \cX, \0, \xHH, \u, and the identity escapes of
 * the syntax characters and /.  in_class: also \- (ClassEscape).
 * The code point, or -1.
 */
static long char_escape(struct tr *t, const char *esc, int in_class)
{
	int c = (unsigned char)*t->p;
	long v;

	t->p++;
	switch (c) {
	case 'f':
		return 0x0c;
	case 'n':
		return 0x0a;
	case 'r':
		return 0x0d;
	case 't':
		return 0x09;
	case 'v':
		return 0x0b;
	case 'c':
		if (t->p < t->end && ((*t->p >= 'a' && *t->p <= 'z') ||
				      (*t->p >= 'A' && *t->p <= 'Z')))
			return (unsigned char)*t->p++ % 32;
		return syntax_error(t, esc, "invalid escape \\c");
	case '0':
		if (t->p < t->end && *t->p >= '0' && *t->p <= '9')
			return syntax_error(t, esc, "invalid decimal escape");
		return 0;
	case 'x':
		if ((v = hex_n(t->p, t->end, 2)) < 0)
			return syntax_error(t, esc, "invalid escape \\x");
		t->p += 2;
		return v;
	case 'u':
		return unicode_escape(t, esc);
	case '/':
		return '/';
	case '-':
		if (in_class)
			return '-';
		break;
	default:
		if (is_syntax_char(c))
			return c;
		break;
	}
	t->p = esc + 1;
	if (c <= 0x20 || c >= 0x7f) /* the message stays one printable line */
		return syntax_error(t, esc, "invalid escape");
	return syntax_error(t, esc, "invalid escape \\%c", c);
}

/* ------------------------------------------------------- character sets */

static int cls_add(struct cls *k, uint32_t lo, uint32_t hi)
{
	struct range *r;

	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		r = realloc(k->r, cap * sizeof(*r));
		if (r == NULL)
			return -1;
		k->r = r;
		k->cap = cap;
	}
	k->r[k->n].lo = lo;
	k->r[k->n].hi = hi;
	k->n++;
	return 0;
}

/* add a set of sorted ranges, or its complement */
static int cls_add_set(struct cls *k, const struct range *r, size_t n,
		       int negate)
{
	uint32_t next = 0;
	size_t i;

	if (!negate) {
		for (i = 0; i < n; i++)
			if (cls_add(k, r[i].lo, r[i].hi) != 0)
				return -1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (r[i].lo > next && cls_add(k, next, r[i].lo - 1) != 0)
			return -1;
		next = r[i].hi + 1;
	}
	if (next <= ECMARE_MAX_CP && cls_add(k, next, ECMARE_MAX_CP) != 0)
		return -1;
	return 0;
}

static void cls_free(struct cls *k)
{
	free(k->r);
	ev_buf_free(&k->props);
}

/* One range inside a PCRE2 class, without the surrogates (which UTF-8
 * cannot hold, and PCRE2 refuses). */
static int put_range(struct ev_buf *b, uint32_t lo, uint32_t hi)
{
	if (lo >= 0xd800 && lo <= 0xdfff)
		lo = 0xe000;
	if (hi >= 0xd800 && hi <= 0xdfff)
		hi = 0xd7ff;
	if (lo > hi)
		return 0;
	if (lo < 0xd800 && hi > 0xdfff)
		return put_range(b, lo, 0xd7ff) || put_range(b, 0xe000, hi);
	if (put_cp(b, lo) != 0)
		return -1;
	if (lo == hi)
		return 0;
	return ev_buf_putc(b, '-') || put_cp(b, hi);
}

/* the class as one PCRE2 atom */
static int cls_emit(struct tr *t, struct cls *k, int negate)
{
	size_t i, len0 = t->out.len;

	if (ev_buf_puts(&t->out, negate ? "[^" : "[") != 0)
		return out_mem(t);
	for (i = 0; i < k->n; i++)
		if (put_range(&t->out, k->r[i].lo, k->r[i].hi) != 0)
			return out_mem(t);
	if (k->props.len > 0 &&
	    ev_buf_append(&t->out, k->props.p, k->props.len) != 0)
		return out_mem(t);
	if (t->out.len == len0 + 1 + (size_t)negate) {
		/* [] (or only surrogates) matches nothing, [^] anything */
		t->out.len = len0;
		return put(t, negate ? "[\\x{0}-\\x{10ffff}]" : "(?:(?!))");
	}
	return ev_buf_putc(&t->out, ']') == 0 ? 0 : out_mem(t);
}

/* ------------------------------------------------- \p{...} and \d \s \w */

static const char *lookup(const struct alias *a, size_t n, const char *name,
			  int *found)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, name) == 0) {
			*found = 1;
			return a[i].pcre;
		}
	*found = 0;
	return NULL;
}

static int is_script(const char *v)
{
	size_t i;

	for (i = 0; i < NRANGES(scripts); i++)
		if (strcmp(scripts[i], v) == 0)
			return 1;
	return 0;
}

/*
 * \p{...} or \P{...}, t->p just after the p: UnicodePropertyValueExpression
 * with the exact names ECMA-262 lists (no loose matching, unlike PCRE2).
 */
static int property(struct tr *t, const char *esc, int negate, struct cls *k)
{
	char name[64], *value;
	const char *q, *pc;
	size_t n;
	int found, sc;

	if (t->p >= t->end || *t->p != '{')
		return syntax_error(t, esc, "invalid property name");
	for (q = t->p + 1; q < t->end && *q != '}'; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '_' || *q == '='))
			return syntax_error(t, esc, "invalid property name");
	n = (size_t)(q - t->p - 1);
	if (q >= t->end || n == 0 || n >= sizeof(name))
		return syntax_error(t, esc, "invalid property name");
	memcpy(name, t->p + 1, n);
	name[n] = '\0';
	t->p = q + 1;
	value = strchr(name, '=');
	if (value != NULL) {
		*value++ = '\0';
		if (strchr(value, '=') != NULL)
			return syntax_error(t, esc, "invalid property name");
		if (strcmp(name, "General_Category") == 0 ||
		    strcmp(name, "gc") == 0) {
			pc = lookup(categories, NRANGES(categories), value,
				    &found);
			if (!found)
				return syntax_error(
					t, esc,
					"invalid property value '%s' of '%s'",
					value, name);
			return ev_buf_printf(&k->props, "\\%c{%s}",
					     negate ? 'P' : 'p', pc) == 0
				       ? 0
				       : out_mem(t);
		}
		if (strcmp(name, "Script") == 0 || strcmp(name, "sc") == 0 ||
		    strcmp(name, "Script_Extensions") == 0 ||
		    strcmp(name, "scx") == 0) {
			if (!is_script(value))
				return syntax_error(
					t, esc,
					"invalid property value '%s' of '%s'",
					value, name);
			sc = strcmp(name, "Script") == 0 ||
			     strcmp(name, "sc") == 0;
			return ev_buf_printf(&k->props, "\\%c{%s:%s}",
					     negate ? 'P' : 'p',
					     sc ? "sc" : "scx", value) == 0
				       ? 0
				       : out_mem(t);
		}
		return syntax_error(t, esc, "invalid property name '%s'", name);
	}
	pc = lookup(categories, NRANGES(categories), name, &found);
	if (!found)
		pc = lookup(binprops, NRANGES(binprops), name, &found);
	if (!found)
		return syntax_error(t, esc, "invalid property name '%s'", name);
	if (pc == NULL) {
		if (strcmp(name, "ASCII") == 0)
			found = cls_add_set(k, set_ascii, 1, negate);
		else if (strcmp(name, "Any") == 0)
			found = cls_add_set(k, set_any, 1, negate);
		else /* Assigned */
			found = ev_buf_puts(&k->props,
					    negate ? "\\p{Cn}" : "\\P{Cn}");
		return found == 0 ? 0 : out_mem(t);
	}
	return ev_buf_printf(&k->props, "\\%c{%s}", negate ? 'P' : 'p', pc) == 0
		       ? 0
		       : out_mem(t);
}

/* CharacterClassEscape at t->p (d D s S w W p P) into k */
static int class_escape(struct tr *t, const char *esc, struct cls *k)
{
	int c = (unsigned char)*t->p++;
	int neg = c >= 'A' && c <= 'Z', r;

	switch (c | 0x20) {
	case 'd':
		r = cls_add_set(k, set_d, NRANGES(set_d), neg);
		break;
	case 's':
		r = cls_add_set(k, set_s, NRANGES(set_s), neg);
		break;
	case 'w':
		r = cls_add_set(k, set_w, NRANGES(set_w), neg);
		break;
	default:
		return property(t, esc, neg, k);
	}
	return r == 0 ? 0 : out_mem(t);
}

static int is_class_escape(int c)
{
	return c != 0 && strchr("dDsSwWpP", c) != NULL;
}

/* a literal code point as a PCRE2 atom */
static int put_lit(struct tr *t, uint32_t c)
{
	char tmp[2];

	if (c >= 0xd800 && c <= 0xdfff) /* a lone surrogate: no UTF-8 has it */
		return put(t, "(?:(?!))");
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z')) {
		tmp[0] = (char)c;
		tmp[1] = '\0';
		return put(t, tmp);
	}
	return put_cp(&t->out, c) == 0 ? 0 : out_mem(t);
}

/* -------------------------------------------------------- group names */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pcre2_code *id_start_re, *id_part_re;

static int id_char(uint32_t c, int start)
{
	pcre2_code *re = start ? id_start_re : id_part_re;
	pcre2_match_data *md;
	unsigned char u[4];
	size_t n;
	int r;

	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		       c == '$' || c == '_' || (!start && c >= '0' && c <= '9');
	if (c == 0x200c || c == 0x200d)
		return !start;
	if (re == NULL || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	if (c < 0x800) {
		u[0] = (unsigned char)(0xc0 | c >> 6);
		u[1] = (unsigned char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (unsigned char)(0xe0 | c >> 12);
		u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | c >> 18);
		u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (c & 0x3f));
		n = 4;
	}
	md = pcre2_match_data_create(1, NULL);
	if (md == NULL)
		return 0;
	r = pcre2_match(re, u, n, 0, PCRE2_ANCHORED, md, NULL);
	pcre2_match_data_free(md);
	return r >= 0;
}

/*
 * GroupName at t->p (just after "<"): RegExpIdentifierName ">" with its
 * \u escapes decoded into b.  0 or -1.
 */
static int group_name(struct tr *t, struct ev_buf *b)
{
	const char *at = t->p;
	uint32_t c;
	long v;
	int first = 1;

	b->len = 0;
	for (;;) {
		if (t->p >= t->end)
			return syntax_error(t, at,
					    "invalid capture group name");
		if (*t->p == '>' && !first) {
			t->p++;
			return 0;
		}
		if (*t->p == '\\') {
			const char *esc = t->p;
			if (t->p + 1 >= t->end || t->p[1] != 'u')
				return syntax_error(
					t, esc, "invalid capture group name");
			t->p += 2;
			if ((v = unicode_escape(t, esc)) < 0)
				return -1;
			c = (uint32_t)v;
		} else {
			c = next_cp(t);
		}
		if (!id_char(c, first))
			return syntax_error(t, at,
					    "invalid capture group name");
		if (c >= 0xd800 && c <= 0xdfff)
			return syntax_error(t, at,
					    "invalid capture group name");
		if (ev_buf_reserve(b, 4) != 0)
			return out_mem(t);
		/* UTF-8 */
		if (c < 0x80) {
			b->p[b->len++] = (uint8_t)c;
		} else if (c < 0x800) {
			b->p[b->len++] = (uint8_t)(0xc0 | c >> 6);
			b->p[b->len++] = (uint8_t)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			b->p[b->len++] = (uint8_t)(0xe0 | c >> 12);
			b->p[b->len++] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			b->p[b->len++] = (uint8_t)(0x80 | (c & 0x3f));
		} else {
			b->p[b->len++] = (uint8_t)(0xf0 | c >> 18);
			b->p[b->len++] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
			b->p[b->len++] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
			b->p[b->len++] = (uint8_t)(0x80 | (c & 0x3f));
		}
		first = 0;
	}
}

static const struct group_name *find_name(const struct tr *t, const uint8_t *s,
					  size_t n)
{
	size_t i;

	for (i = 0; i < t->nnames; i++)
		if (t->names[i].n == n && memcmp(t->names[i].s, s, n) == 0)
			return &t->names[i];
	return NULL;
}

static int add_name(struct tr *t, const char *at, const struct ev_buf *b,
		    unsigned num)
{
	struct group_name *g;

	if (find_name(t, b->p, b->len) != NULL)
		return syntax_error(t, at, "duplicate capture group name");
	g = realloc(t->names, (t->nnames + 1) * sizeof(*g));
	if (g == NULL)
		return out_mem(t);
	t->names = g;
	g = &t->names[t->nnames];
	if ((g->s = malloc(b->len + 1)) == NULL)
		return out_mem(t);
	memcpy(g->s, b->p, b->len);
	g->n = b->len;
	g->num = num;
	t->nnames++;
	return 0;
}

/* ------------------------------------------------------------- grammar */

static int disjunction(struct tr *t);

static int is_quant_start(const struct tr *t)
{
	return t->p < t->end &&
	       (*t->p == '*' || *t->p == '+' || *t->p == '?' || *t->p == '{');
}

/* after an assertion: in Unicode mode nothing may repeat it */
static int no_quantifier(struct tr *t)
{
	if (is_quant_start(t))
		return syntax_error(t, t->p, "nothing to repeat");
	return 0;
}

/* decimal digits at t->p, saturating below UINT32_MAX (which stands for
 * no upper bound) */
static uint32_t decimal(struct tr *t)
{
	uint64_t v = 0;

	while (t->p < t->end && *t->p >= '0' && *t->p <= '9') {
		v = v * 10 + (uint64_t)(*t->p++ - '0');
		if (v >= UINT32_MAX)
			v = UINT32_MAX - 1;
	}
	return (uint32_t)v;
}

/* {n}, {n,}, {n,m} at t->p ('{'): 1 and the bounds (max UINT32_MAX for
 * none), or 0 (t->p unchanged) when it is not one */
static int braces(struct tr *t, uint32_t *min, uint32_t *max)
{
	const char *at = t->p;

	t->p++;
	if (t->p >= t->end || *t->p < '0' || *t->p > '9')
		goto no;
	*min = *max = decimal(t);
	if (t->p < t->end && *t->p == ',') {
		t->p++;
		*max = UINT32_MAX;
		if (t->p < t->end && *t->p >= '0' && *t->p <= '9')
			*max = decimal(t);
	}
	if (t->p < t->end && *t->p == '}') {
		t->p++;
		return 1;
	}
no:
	t->p = at;
	return 0;
}

static int quantifier(struct tr *t)
{
	const char *at = t->p;
	uint32_t min, max;
	char tmp[40];

	if (t->p >= t->end)
		return 0;
	switch (*t->p) {
	case '*':
	case '+':
	case '?':
		tmp[0] = *t->p++;
		tmp[1] = '\0';
		break;
	case '{':
		if (!braces(t, &min, &max))
			return syntax_error(t, at, "incomplete quantifier");
		if (min > max)
			return syntax_error(
				t, at, "numbers out of order in {} quantifier");
		if (min > ECMARE_MAX_REPEAT ||
		    (max != UINT32_MAX && max > ECMARE_MAX_REPEAT))
			unsupported(t, at,
				    "a repeat count above %u (a PCRE2 limit)",
				    ECMARE_MAX_REPEAT);
		if (max == UINT32_MAX)
			snprintf(tmp, sizeof(tmp), "{%u,}", (unsigned)min);
		else if (min == max)
			snprintf(tmp, sizeof(tmp), "{%u}", (unsigned)min);
		else
			snprintf(tmp, sizeof(tmp), "{%u,%u}", (unsigned)min,
				 (unsigned)max);
		break;
	default:
		return 0;
	}
	if (t->p < t->end && *t->p == '?') {
		t->p++;
		strcat(tmp, "?");
	}
	if (put(t, tmp) != 0)
		return -1;
	if (is_quant_start(t))
		return syntax_error(t, t->p, "nothing to repeat");
	return 0;
}

/* [...] at t->p */
static int char_class(struct tr *t)
{
	const char *open = t->p;
	struct cls k = {0};
	int negate = 0, r = -1, set[2];
	uint32_t cp[2];
	long v;
	int i;

	t->p++;
	if (t->p < t->end && *t->p == '^') {
		negate = 1;
		t->p++;
	}
	for (;;) {
		if (t->p >= t->end) {
			syntax_error(t, open, "unterminated character class");
			goto out;
		}
		if (*t->p == ']')
			break;
		for (i = 0; i < 2; i++) {
			const char *esc = t->p;
			set[i] = 0;
			cp[i] = 0;
			if (*t->p != '\\') {
				cp[i] = next_cp(t);
			} else if (++t->p >= t->end) {
				syntax_error(t, esc, "\\ at end of pattern");
				goto out;
			} else if (is_class_escape(*t->p)) {
				set[i] = 1;
				if (class_escape(t, esc, &k) != 0)
					goto out;
			} else if (*t->p == 'b') {
				t->p++;
				cp[i] = 0x08;
			} else if (*t->p >= '1' && *t->p <= '9') {
				syntax_error(t, esc, "invalid class escape");
				goto out;
			} else {
				if ((v = char_escape(t, esc, 1)) < 0)
					goto out;
				cp[i] = (uint32_t)v;
			}
			/* a range? */
			if (i == 1 || t->end - t->p < 2 || *t->p != '-' ||
			    t->p[1] == ']')
				break;
			t->p++;
		}
		if (i == 1) {
			if (set[0] || set[1]) {
				syntax_error(t, t->p,
					     "invalid character class");
				goto out;
			}
			if (cp[0] > cp[1]) {
				syntax_error(t, t->p,
					     "range out of order in character "
					     "class");
				goto out;
			}
			if (cls_add(&k, cp[0], cp[1]) != 0) {
				out_mem(t);
				goto out;
			}
		} else if (!set[0] && cls_add(&k, cp[0], cp[0]) != 0) {
			out_mem(t);
			goto out;
		}
	}
	t->p++;
	r = cls_emit(t, &k, negate);
out:
	cls_free(&k);
	return r;
}

/*
 * A backreference as PCRE2's \g{N}.  Inside its own group it can only
 * match the empty string in ECMA (the group is set when it closes, and
 * reset at each iteration), while PCRE2 would see the last iteration's.
 */
static int backref(struct tr *t, unsigned n)
{
	char tmp[32];
	int i;

	for (i = 0; i < t->nopen; i++)
		if (t->open[i] == n)
			return put(t, "(?:)");
	/* in a group: PCRE2 10.42's JIT fails a repeated \g{N} that is
	 * unset (\g{1}{1,2}a(b) on "ab"), and gets (?:\g{1}){1,2} right */
	snprintf(tmp, sizeof(tmp), "(?:\\g{%u})", n);
	return put(t, tmp);
}

/* \ AtomEscape at t->p, outside a class */
static int atom_escape(struct tr *t, int pass)
{
	const char *esc = t->p;
	const struct group_name *g;
	struct ev_buf name = {0};
	struct cls k = {0};
	uint32_t n = 0;
	long v;
	int r;

	if (++t->p >= t->end)
		return syntax_error(t, esc, "\\ at end of pattern");
	if (*t->p >= '1' && *t->p <= '9') {
		n = decimal(t);
		if (pass == 2 && n > t->total)
			return syntax_error(t, esc, "invalid escape");
		return backref(t, n);
	}
	if (*t->p == 'k') {
		t->p++;
		if (t->p >= t->end || *t->p != '<')
			return syntax_error(t, esc, "invalid named reference");
		t->p++;
		r = group_name(t, &name);
		if (r == 0 && pass == 2) {
			g = find_name(t, name.p, name.len);
			if (g == NULL)
				r = syntax_error(t, esc,
						 "invalid named capture "
						 "referenced");
			else
				n = g->num;
		}
		ev_buf_free(&name);
		if (r != 0)
			return r;
		return pass == 2 ? backref(t, n) : put(t, "(?:)");
	}
	if (is_class_escape(*t->p)) {
		r = class_escape(t, esc, &k);
		if (r == 0)
			r = cls_emit(t, &k, 0);
		cls_free(&k);
		return r;
	}
	if ((v = char_escape(t, esc, 0)) < 0)
		return -1;
	return put_lit(t, (uint32_t)v);
}

/* ( ... ) at t->p, not a lookaround */
static int group(struct tr *t, int pass)
{
	const char *open = t->p;
	struct ev_buf name = {0};
	int r, capture = 0;

	t->p++;
	if (t->p < t->end && *t->p == '?') {
		t->p++;
		if (t->p < t->end && *t->p == ':') {
			t->p++;
			if (put(t, "(?:") != 0)
				return -1;
		} else if (t->p < t->end && *t->p == '<') {
			t->p++;
			t->ngroups++;
			r = group_name(t, &name);
			if (r == 0 && pass == 1)
				r = add_name(t, open, &name, t->ngroups);
			ev_buf_free(&name);
			if (r != 0 || put(t, "(") != 0)
				return -1;
			t->open[t->nopen++] = t->ngroups;
			capture = 1;
		} else {
			return syntax_error(t, open, "invalid group");
		}
	} else {
		t->ngroups++;
		if (put(t, "(") != 0)
			return -1;
		t->open[t->nopen++] = t->ngroups;
		capture = 1;
	}
	if (!capture)
		t->open[t->nopen++] = 0;
	r = disjunction(t);
	t->nopen--;
	if (r != 0)
		return -1;
	if (t->p >= t->end)
		return syntax_error(t, open, "unterminated group");
	t->p++;
	return put(t, ")");
}

static int lookaround(struct tr *t, const char *open, const char *pcre)
{
	if (put(t, pcre) != 0 || disjunction(t) != 0)
		return -1;
	if (t->p >= t->end)
		return syntax_error(t, open, "unterminated group");
	t->p++;
	if (put(t, ")") != 0)
		return -1;
	return no_quantifier(t);
}

static int term(struct tr *t, int pass)
{
	const char *at = t->p;
	size_t left = (size_t)(t->end - t->p);
	long v;
	int r;

	mark(t);
	switch (*t->p) {
	case '^':
		t->p++;
		return put(t, "\\A") || no_quantifier(t);
	case '$':
		t->p++;
		return put(t, "\\z") || no_quantifier(t);
	case '\\':
		if (left >= 2 && (t->p[1] == 'b' || t->p[1] == 'B')) {
			t->p += 2;
			return put(t, at[1] == 'b' ? "\\b" : "\\B") ||
			       no_quantifier(t);
		}
		r = atom_escape(t, pass);
		break;
	case '(':
		if (++t->depth > ECMARE_MAX_DEPTH)
			return syntax_error(t, at,
					    "groups nested deeper than %d",
					    ECMARE_MAX_DEPTH);
		if (left >= 3 && t->p[1] == '?' &&
		    (t->p[2] == '=' || t->p[2] == '!')) {
			t->p += 3;
			r = lookaround(t, at, t->p[-1] == '=' ? "(?=" : "(?!");
		} else if (left >= 4 && t->p[1] == '?' && t->p[2] == '<' &&
			   (t->p[3] == '=' || t->p[3] == '!')) {
			t->p += 4;
			r = lookaround(t, at,
				       t->p[-1] == '=' ? "(?<=" : "(?<!");
		} else {
			r = group(t, pass);
			t->depth--;
			break;
		}
		t->depth--;
		return r;
	case '.':
		t->p++;
		r = put(t, "[^\\n\\r\\x{2028}\\x{2029}]");
		break;
	case '[':
		r = char_class(t);
		break;
	case '*':
	case '+':
	case '?':
		return syntax_error(t, at, "nothing to repeat");
	case '{': {
		uint32_t a, b;
		if (braces(t, &a, &b))
			return syntax_error(t, at, "nothing to repeat");
		return syntax_error(t, at, "lone quantifier brackets");
	}
	case '}':
		return syntax_error(t, at, "lone quantifier brackets");
	case ']':
		return syntax_error(t, at, "lone ']'");
	default:
		v = next_cp(t);
		r = put_lit(t, (uint32_t)v);
		break;
	}
	if (r != 0)
		return -1;
	return quantifier(t);
}

static int disjunction(struct tr *t)
{
	for (;;) {
		while (t->p < t->end && *t->p != '|' && *t->p != ')')
			if (term(t, t->pass) != 0)
				return -1;
		if (t->p < t->end && *t->p == '|') {
			t->p++;
			if (put(t, "|") != 0)
				return -1;
			continue;
		}
		return 0;
	}
}

static void tr_free(struct tr *t)
{
	size_t i;

	for (i = 0; i < t->nnames; i++)
		free(t->names[i].s);
	free(t->names);
	free(t->map);
	ev_buf_free(&t->out);
}

/*
 * The ECMA pattern into t->out as PCRE2 (NUL-terminated).  Two passes:
 * the first finds the groups and their names, so that the second can
 * check every \N and \k<name> (they may refer forward).  0, or -1 with
 * t->syntax or t->oom set; t->unsupported says the PCRE2 pattern would
 * not mean the same (with t->msg).
 */
static int translate(struct tr *t, const char *pat, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->start = pat;
	t->end = pat + n;
	if (ev_utf8_valid((const uint8_t *)pat, n) != n) {
		t->syntax = -1;
		t->erroff = ev_utf8_valid((const uint8_t *)pat, n);
		snprintf(t->msg, sizeof(t->msg), "not valid UTF-8");
		return -1;
	}
	for (t->pass = 1; t->pass <= 2; t->pass++) {
		t->p = pat;
		t->out.len = 0;
		t->nmap = 0;
		t->ngroups = 0;
		t->unsupported = 0;
		if (disjunction(t) != 0)
			return -1;
		if (t->p < t->end)
			return syntax_error(t, t->p, "unmatched ')'");
		t->total = t->ngroups;
	}
	if (ev_buf_putc(&t->out, '\0') != 0)
		return out_mem(t);
	return 0;
}

/* ---------------------------------------------------- match data, mcontext */

static pthread_key_t md_key;
static pcre2_match_context *mctx; /* read-only after setup: shared */
static __thread pcre2_match_data *tls_md;

static void md_destroy(void *md)
{
	pcre2_match_data_free(md);
}

static pcre2_code *setup_re(const char *s)
{
	PCRE2_SIZE eoff;
	int ecode;

	return pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
			     &ecode, &eoff, NULL);
}

static void setup(void)
{
	(void)pthread_key_create(&md_key, md_destroy);
	mctx = pcre2_match_context_create(NULL);
	if (mctx != NULL) {
		pcre2_set_match_limit(mctx, ECMARE_MATCH_LIMIT);
		pcre2_set_depth_limit(mctx, ECMARE_DEPTH_LIMIT);
		pcre2_set_heap_limit(mctx, ECMARE_HEAP_LIMIT);
	}
	/* identifiers (group names): ID_Start, ID_Continue */
	id_start_re = setup_re("[\\p{ID_Start}]");
	id_part_re = setup_re("[\\p{ID_Continue}]");
}

/* One match data per thread: a search only asks whether there is a
 * match, so one pair of offsets serves every pattern (pcre2_match
 * returns 0 when the captures do not fit, which is still a match). */
static pcre2_match_data *thread_md(void)
{
	pcre2_match_data *md = tls_md;

	if (md != NULL)
		return md;
	md = pcre2_match_data_create(1, NULL);
	if (md == NULL)
		return NULL;
	tls_md = md;
	(void)pthread_setspecific(md_key, md);
	return md;
}

/* ------------------------------------------------------------- compiling */

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* the pattern offset of an offset in the PCRE2 text */
static size_t source_offset(const struct tr *t, size_t off)
{
	size_t i, r = 0;

	for (i = 0; i < t->nmap && t->map[i][0] <= off; i++)
		r = t->map[i][1];
	return r;
}

int ev_ecmare_compile(const char *pat, size_t n, struct ev_ecmare **out,
		      char *why, size_t whylen)
{
	uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK |
			PCRE2_MATCH_INVALID_UTF | PCRE2_MATCH_UNSET_BACKREF |
			PCRE2_NEVER_BACKSLASH_C | PCRE2_DOLLAR_ENDONLY;
	struct ev_ecmare *re = NULL;
	pcre2_compile_context *cc = NULL;
	pcre2_code *code = NULL;
	PCRE2_SIZE eoff = 0;
	struct tr t;
	int ecode = 0, rc = EV_EDATA;
	char msg[160];

	*out = NULL;
	(void)pthread_once(&once, setup);
	if (translate(&t, pat, n) != 0 || t.unsupported) {
		if (t.oom) {
			say(why, whylen, "out of memory");
			rc = EV_ERR;
		} else {
			say(why, whylen, "at offset %zu: %s%s", t.erroff,
			    t.syntax ? "" : "not supported: ", t.msg);
		}
		goto out;
	}
	cc = pcre2_compile_context_create(NULL);
	if (cc == NULL) {
		say(why, whylen, "out of memory");
		rc = EV_ERR;
		goto out;
	}
	pcre2_set_parens_nest_limit(cc, 2 * ECMARE_MAX_DEPTH + 10);
	code = pcre2_compile(t.out.p, t.out.len - 1, opts, &ecode, &eoff, cc);
	if (code == NULL) {
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		say(why, whylen, "at offset %zu: not supported by PCRE2: %s",
		    source_offset(&t, (size_t)eoff), msg);
		goto out;
	}
	re = calloc(1, sizeof(*re));
	if (re == NULL) {
		say(why, whylen, "out of memory");
		rc = EV_ERR;
		goto out;
	}
	/* without a JIT (a platform without one) pcre2_match() interprets */
	re->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	re->code = code;
	code = NULL;
	*out = re;
	rc = 0;
out:
	pcre2_code_free(code);
	pcre2_compile_context_free(cc);
	tr_free(&t);
	return rc;
}

int ev_ecmare_search(const struct ev_ecmare *re, const char *s, size_t n)
{
	pcre2_match_data *md = thread_md();
	int rc;

	if (md == NULL)
		return EV_ERR;
	/* the JIT's own entry saves ~10 ns of checks per call; the
	 * pattern has PCRE2_MATCH_INVALID_UTF, so a subject that is not
	 * UTF-8 is safe on both */
	if (re->jit)
		rc = pcre2_jit_match(re->code, (PCRE2_SPTR)s, n, 0, 0, md,
				     mctx);
	else
		rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, md, mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return EV_ERR;
}

void ev_ecmare_free(struct ev_ecmare *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	free(re);
}

int ev_ecmare_valid(const char *pat, size_t n)
{
	struct tr t;
	int ok;

	(void)pthread_once(&once, setup);
	ok = translate(&t, pat, n) == 0;
	tr_free(&t);
	return ok;
}
