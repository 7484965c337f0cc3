/*
 * api_session: the web UI's sessions and the one-time codes that open them
 * (docs/WEBUI.md). `lanrage ui` asks for a code with the API token and
 * prints http://HOST/login?code=...; the page that follows holds only a
 * session cookie (HttpOnly, so its script never sees it) and the session's
 * CSRF value, which it sends in a header with every change.
 *
 * Invariants: codes and session IDs are 32 random bytes, compared in
 * constant time against every slot, used once (codes) and dropped when
 * they expire; nothing here is logged.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"
#include "crypto/crypto.h"

static void api_secret_new(char out[API_SECRET_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[API_SECRET_HEX / 2];

	crypto_random(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[API_SECRET_HEX] = '\0';
	crypto_wipe(raw, sizeof(raw));
}

/* Whether s is exactly the API_SECRET_HEX characters of secret; the
 * length is no secret, the bytes are compared in constant time. */
static bool api_secret_equal(const char *s, size_t len, const char *secret)
{
	return len == API_SECRET_HEX && crypto_equal(s, secret, API_SECRET_HEX);
}

void api_code_new(struct api_sessions *ss, uint64_t now_ms, char code[API_SECRET_HEX + 1])
{
	size_t pick = 0;

	for (size_t i = 0; i < API_MAX_CODES; i++) {
		if (!ss->codes[i].used || ss->codes[i].expires_ms <= now_ms) {
			pick = i;
			break;
		}
		if (ss->codes[i].expires_ms < ss->codes[pick].expires_ms)
			pick = i;
	}
	api_secret_new(ss->codes[pick].code);
	ss->codes[pick].expires_ms = now_ms + API_CODE_TTL_MS;
	ss->codes[pick].used = true;
	memcpy(code, ss->codes[pick].code, API_SECRET_HEX + 1);
}

static struct api_session *api_session_slot(struct api_sessions *ss, uint64_t now_ms)
{
	struct api_session *oldest = &ss->s[0];

	for (size_t i = 0; i < API_MAX_SESSIONS; i++) {
		if (!ss->s[i].used || ss->s[i].expires_ms <= now_ms)
			return &ss->s[i];
		if (ss->s[i].expires_ms < oldest->expires_ms)
			oldest = &ss->s[i];
	}
	return oldest;
}

const struct api_session *api_code_redeem(struct api_sessions *ss, const char *code,
					  uint64_t now_ms)
{
	size_t len = code ? strlen(code) : 0;
	bool found = false;
	struct api_session *s;

	for (size_t i = 0; i < API_MAX_CODES; i++) {
		bool live = ss->codes[i].used && ss->codes[i].expires_ms > now_ms;

		/* every slot is compared: the time taken says nothing of which */
		if (api_secret_equal(code ? code : "", len, ss->codes[i].code) && live) {
			crypto_wipe(&ss->codes[i], sizeof(ss->codes[i]));
			found = true;
		}
	}
	if (!found)
		return NULL;
	s = api_session_slot(ss, now_ms);
	api_secret_new(s->id);
	api_secret_new(s->csrf);
	s->expires_ms = now_ms + (uint64_t)API_SESSION_TTL_S * 1000;
	s->used = true;
	return s;
}

/* The value of cookie name in a Cookie header ("a=1; b=2"): its start and
 * length, or NULL. */
static const char *api_cookie_value(const char *header, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = header;

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			p += nl + 1;
			*len = strcspn(p, ";");
			while (*len && p[*len - 1] == ' ')
				(*len)--;
			return p;
		}
		p = strchr(p, ';');
	}
	return NULL;
}

struct api_session *api_session_find(struct api_sessions *ss, const char *cookie_header,
				     uint64_t now_ms)
{
	struct api_session *hit = NULL;
	const char *v;
	size_t len = 0;

	if (!cookie_header)
		return NULL;
	v = api_cookie_value(cookie_header, API_SESSION_COOKIE, &len);
	if (!v)
		return NULL;
	for (size_t i = 0; i < API_MAX_SESSIONS; i++) {
		struct api_session *s = &ss->s[i];

		if (api_secret_equal(v, len, s->id) && s->used && s->expires_ms > now_ms)
			hit = s;
	}
	return hit;
}

void api_session_drop(struct api_session *s)
{
	crypto_wipe(s, sizeof(*s));
}

void api_sessions_wipe(struct api_sessions *ss)
{
	crypto_wipe(ss, sizeof(*ss));
}

const struct api_asset *api_asset_find(const char *path)
{
	for (size_t i = 0; i < api_n_assets; i++)
		if (!strcmp(api_assets[i].path, path))
			return &api_assets[i];
	return NULL;
}
