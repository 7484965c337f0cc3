// What a hostile page can try with the browser's session cookie for
// 127.0.0.1 (same site as this page: SameSite=Strict does not stop it).
// Each attempt answers what the page could see: a status and a body, or
// the error that kept it from reading them.
async function attempt(url, init) {
	try {
		const r = await fetch(url, init);
		let body = '';
		try { body = await r.text(); } catch (e) { body = ''; }
		return { status: r.status, type: r.type, body };
	} catch (e) {
		return { error: String(e) };
	}
}

window.attack = async function () {
	const api = 'http://127.0.0.1:8666';
	return {
		// a "simple" request: no preflight, sent with the cookie
		leave: await attempt(api + '/v1/party/leave', { method: 'POST', credentials: 'include' }),
		// the same with a CSRF header it cannot know: needs a preflight
		leaveHeader: await attempt(api + '/v1/party/leave', { method: 'POST', credentials: 'include',
			headers: { 'X-LANrage-CSRF': '0'.repeat(64) } }),
		// reading the status or the session's CSRF token
		status: await attempt(api + '/v1/status', { credentials: 'include' }),
		session: await attempt(api + '/v1/ui/session', { credentials: 'include' }),
		// no-cors: the request goes out, the answer stays opaque
		leaveNoCors: await attempt(api + '/v1/party/leave', { method: 'POST', mode: 'no-cors', credentials: 'include' }),
	};
};
