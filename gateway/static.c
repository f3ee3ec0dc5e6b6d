/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dashboard's files (docs/dashboard.md): GET of any path outside /v1/
 * answers a file of [gateway] web_dir ("/" is index.html), or of
 * web_vendor_dir for /vendor/ (Debian's libjs-chart.js). The files are
 * public, as a login page must be: every figure they show comes from /v1/
 * with the user's token or session.
 *
 * Paths are refused unless each component is [A-Za-z0-9_-] words with
 * single dots inside: no "..", no hidden files, nothing percent-decoded
 * into a slash. The directories are the operator's; a symlink in them
 * (Debian's libjs packages are symlink farms) is theirs to make.
 */
#include "gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *ext, *mime;
} s_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *s_mime(const char *path)
{
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot != NULL && i < sizeof(s_types) / sizeof(s_types[0]); i++)
		if (strcmp(dot, s_types[i].ext) == 0)
			return s_types[i].mime;
	return NULL; /* not a type the dashboard has: not served */
}

bool gw_static_path_ok(const char *rel)
{
	if (rel[0] == '\0' || strlen(rel) > 200)
		return false;
	bool start = true; /* at the start of a component */
	for (const char *p = rel; *p != '\0'; p++) {
		char ch = *p;
		if (ch == '/') {
			if (start)
				return false; /* "//", or a leading slash */
			start = true;
			continue;
		}
		bool word = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
		if (ch == '.') {
			/* a dot inside a name only: no "..", no ".hidden", no "a." */
			if (start || p[1] == '.' || p[1] == '/' || p[1] == '\0')
				return false;
		} else if (!word) {
			return false;
		}
		start = false;
	}
	return !start;
}

static void s_not_found(gw_answer_t *an, const char *path)
{
	gw_error(an, 404, "NOT_FOUND", "no file %s (the dashboard is at /; the API at /v1/)",
		 path);
}

void gw_static(gw_request_t *rq, gw_answer_t *an)
{
	const char *dir = gw_conf(gw_cfg)->web_dir;
	const char *rel = rq->path + 1;
	if (strcmp(rq->path, "/") == 0)
		rel = "index.html";
	else if (strncmp(rq->path, "/vendor/", 8) == 0) {
		dir = gw_conf(gw_cfg)->web_vendor_dir;
		rel = rq->path + 8;
	}
	const char *mime = s_mime(rel);
	if (dir[0] == '\0' || mime == NULL || !gw_static_path_ok(rel)) {
		s_not_found(an, rq->path);
		return;
	}
	char full[TRC_CONFIG_PATH + 256];
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, rel) >= sizeof(full)) {
		s_not_found(an, rq->path);
		return;
	}
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		s_not_found(an, rq->path);
		return;
	}
	/* an ETag from the file's identity: a reload after an upgrade gets the
	 * new files, an unchanged one is a 304 with no body */
	snprintf(an->etag, sizeof(an->etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec);
	an->mime = mime;
	if (rq->if_none_match != NULL && strcmp(rq->if_none_match, an->etag) == 0) {
		close(fd);
		an->status = 304;
		an->file = true;
		an->fd = -1;
		return;
	}
	an->status = 200;
	an->file = true;
	an->fd = fd;
	an->file_size = (uint64_t)st.st_size;
}
