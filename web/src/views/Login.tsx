import { useState } from "preact/hooks";
import { api, ApiError } from "../app/api";
import { startLive, update } from "../app/store";
import { Icon } from "../components/ui";
import type { Me } from "../types";

export function Login() {
  const [username, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api<Me>("/auth/login", { method: "POST", body: { username, password } });
      update({ me, checked: true });
      void startLive();
    } catch (err) {
      setError(err instanceof ApiError ? (err.status === 401 ? "Wrong user name or password." : err.message) : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login-page">
      <form class="login-card" onSubmit={submit} data-testid="login-form">
        <div class="login-brand">
          <span class="brand-mark">
            <Icon name="radar" size={26} />
          </span>
          <div>
            <div class="brand-name">flowradar</div>
            <div class="brand-sub">Who talks to whom, over what, from where.</div>
          </div>
        </div>
        <label class="field">
          <span>User name</span>
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUser((e.target as HTMLInputElement).value)} required autofocus />
        </label>
        <label class="field">
          <span>Password</span>
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        {error && (
          <div class="error-note" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="login-hint">The first admin's password is printed once by <code>flowradar serve</code>. Viewers see everything; admins also act on alerts.</p>
      </form>
    </div>
  );
}
