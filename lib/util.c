/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clocks, validation of untrusted strings, and small file-system helpers.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

int64_t trc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t trc_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool trc_is_slug(const char *s)
{
	size_t n = 0;
	if (s == NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, n++) {
		unsigned char c = *p;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (n == 0 && !alnum)
			return false;
		if (!alnum && c != '.' && c != '_' && c != '-')
			return false;
		if (n >= TRC_SLUG_MAX)
			return false;
	}
	return n > 0;
}

size_t trc_utf8_seq(const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	uint8_t c = p[0];
	size_t ulen;
	uint32_t cp;
	if (c < 0x80) {
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		ulen = 2;
		cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		ulen = 3;
		cp = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		ulen = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (ulen > n)
		return 0;
	for (size_t i = 1; i < ulen; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((ulen == 2 && cp < 0x80) || (ulen == 3 && cp < 0x800) ||
	    (ulen == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return ulen;
}

bool trc_is_utf8(const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n = 0;
	while (n < len) {
		/* ASCII eight bytes at a time: most text is */
		uint64_t w;
		if (len - n >= 8) {
			memcpy(&w, p + n, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				n += 8;
				continue;
			}
		}
		if (p[n] < 0x80) {
			n++;
			continue;
		}
		size_t ulen = trc_utf8_seq(p + n, len - n);
		if (ulen == 0)
			return false;
		n += ulen;
	}
	return true;
}

bool trc_is_text(const char *s, size_t max)
{
	if (s == NULL)
		return true;
	size_t len = strnlen(s, max + 1);
	return len <= max && trc_is_utf8(s, len);
}

size_t trc_escape(char *dst, size_t cap, const void *src, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = src;
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t ulen = trc_utf8_seq(p + i, len - i);
		bool plain = ulen > 1 || (ulen == 1 && p[i] >= 0x20 && p[i] != 0x7f);
		size_t need = plain ? ulen : 4;
		if (o + need >= cap) /* whole characters and escapes only */
			break;
		if (plain) {
			memcpy(dst + o, p + i, ulen);
			i += ulen;
		} else {
			dst[o] = '\\';
			dst[o + 1] = 'x';
			dst[o + 2] = digits[p[i] >> 4];
			dst[o + 3] = digits[p[i] & 15];
			i++;
		}
		o += need;
	}
	dst[o] = '\0';
	return o;
}

void trc_hex(char *out, const void *data, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int trc_mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return TRC_EINVAL;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char saved = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, 0750) != 0 && errno != EEXIST)
				return trc_err_from_errno(errno);
			buf[i] = saved;
		}
	}
	return TRC_OK;
}

int trc_errf(int rc, char *err, size_t len, const char *fmt, ...)
{
	if (err != NULL && len > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

bool trc_topic_prefix_ok(const void *prefix, size_t len)
{
	const unsigned char *p = prefix;
	if (len > TRC_TOPIC_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int trc_write_file_atomic(const char *path, const char *text)
{
	char tmp[4096 + 8];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	bool ok = fputs(text, f) >= 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
		return -1;
	return 0;
}

char *trc_trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* The n-th entry of a list separated by commas and blanks: where it starts
 * and its length (0: none). */
static size_t s_entry(const char *list, size_t i, const char **at)
{
	const char *p = list != NULL ? list : "";
	for (;;) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n == 0 || i == 0) {
			*at = p;
			return n;
		}
		p += n;
		i--;
	}
}

size_t trc_endpoints_count(const char *list)
{
	size_t n = 0;
	const char *at;
	while (s_entry(list, n, &at) > 0)
		n++;
	return n;
}

bool trc_endpoint_at(const char *list, size_t i, char *out, size_t len)
{
	const char *at;
	size_t n = s_entry(list, i, &at);
	if (n == 0 || n >= len)
		return false;
	memcpy(out, at, n);
	out[n] = '\0';
	return true;
}

int trc_accept_refuse(int lfd, int *spare)
{
	if (*spare < 0)
		return -1;
	close(*spare);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	int e = errno;
	if (fd >= 0)
		close(fd);
	*spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return e == EAGAIN || e == EWOULDBLOCK ? 0 : -1;
	return 1;
}

uint64_t trc_fnv64(const void *s, size_t n)
{
	const unsigned char *p = s;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}
