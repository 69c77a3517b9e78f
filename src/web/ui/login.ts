// The login form shown when the collector runs with --auth-token: it POSTs the token to
// /api/login, which sets an HttpOnly, SameSite=Strict session cookie; the page's own requests and
// its WebSocket then carry that cookie. No inline script anywhere (the CSP forbids it).
import { byId } from './dom.js';

interface Session {
  auth_required: boolean;
  authenticated: boolean;
}

let loginShown: Promise<void> | null = null;

async function session(): Promise<Session> {
  try {
    const res = await fetch('/api/session', { headers: { accept: 'application/json' } });
    if (!res.ok) return { auth_required: false, authenticated: true };
    return (await res.json()) as Session;
  } catch {
    // Unreachable: let the dashboard start and say so itself.
    return { auth_required: false, authenticated: true };
  }
}

/** Shows the form; resolves once the collector accepted a token. */
function showLogin(message = ''): Promise<void> {
  if (loginShown) return loginShown;
  const box = byId('login');
  const form = byId<HTMLFormElement>('login-form');
  const input = byId<HTMLInputElement>('login-token');
  const error = byId('login-error');
  const button = form.querySelector('button');
  error.textContent = message;
  box.hidden = false;
  input.focus();
  loginShown = new Promise<void>((resolve) => {
    const submit = async (ev: Event): Promise<void> => {
      ev.preventDefault();
      if (button) button.disabled = true;
      error.textContent = '';
      try {
        const res = await fetch('/api/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ token: input.value }),
        });
        const body = (await res.json().catch(() => ({}))) as { message?: string };
        if (!res.ok) {
          error.textContent = body.message ?? `${res.status} ${res.statusText}`;
          input.select();
          return;
        }
        input.value = '';
        box.hidden = true;
        form.removeEventListener('submit', onSubmit);
        loginShown = null;
        showLogout(true);
        resolve();
      } catch (err) {
        error.textContent = `collector unreachable: ${(err as Error).message}`;
      } finally {
        if (button) button.disabled = false;
      }
    };
    const onSubmit = (ev: Event): void => void submit(ev);
    form.addEventListener('submit', onSubmit);
  });
  return loginShown;
}

function showLogout(show: boolean): void {
  byId('logout').hidden = !show;
}

/** Resolves when the dashboard may load data: no token configured, a valid session, or after a login. */
export async function ensureSession(): Promise<void> {
  const logout = byId<HTMLButtonElement>('logout');
  logout.addEventListener('click', () => {
    void fetch('/api/logout', { method: 'POST' }).finally(() => location.reload());
  });
  const s = await session();
  showLogout(s.auth_required && s.authenticated);
  if (!s.authenticated) await showLogin();
}

/** An API call came back 401 (the session expired, or the token changed): log in again, then reload. */
export function sessionExpired(message: string): void {
  void showLogin(message).then(() => location.reload());
}
