// Built-in pages for mailed links (DESIGN.md "Built-in pages"). Nothing is sent until the user clicks, so a
// mail scanner that opens the link does no harm. The token is read from the URL and sent only to this API.
(() => {
  const page = document.body.dataset.page;
  const token = new URLSearchParams(location.search).get("token") || "";
  // The Google callback carries its one-time code (or an error code) in the fragment, never in the query.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const form = document.getElementById("form");
  const result = document.getElementById("result");
  // Drop the token (or the fragment's code) from the address bar and history once read.
  history.replaceState(null, "", location.pathname);

  const show = (ok, text) => {
    result.hidden = false;
    result.className = ok ? "ok" : "error";
    result.textContent = text;
  };

  const call = async (method, path, body) => {
    const res = await fetch(path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    return { ok: res.ok, data };
  };

  // What the Google callback's `#error=<CODE>` (or a refused exchange) means for the person.
  const OAUTH_ERRORS = {
    INVALID_TOKEN:
      "This sign-in expired or was started in another browser. Please start again from the same browser.",
    UNAUTHENTICATED: "Google sign-in was cancelled or could not be verified. Please try again.",
    LINK_REQUIRES_LOGIN:
      "Google cannot confirm this email address for us. Sign in with your password first, then link your Google account.",
    ACCOUNT_DEACTIVATED: "This account is deactivated. Ask a workspace admin to reactivate it.",
    ACCOUNT_PENDING_DELETION: "This account is scheduled for deletion. You can still cancel the deletion.",
    CONFLICT: "This Google account is already linked to another user.",
    FORBIDDEN: "Link a Google account that uses the same email address as your account, verified by Google.",
    NOT_CONFIGURED: "Google sign-in is not available here.",
    RATE_LIMITED: "Too many attempts. Please wait a minute and try again.",
  };

  const actions = {
    // The link proves the mailbox; the password proves that its owner chose it (someone else may have
    // registered this address first).
    "verify-email": () =>
      call("POST", "/api/auth/verify-email", { token, password: document.getElementById("password").value }),
    "reset-password": () =>
      call("POST", "/api/auth/reset-password", {
        token,
        newPassword: document.getElementById("newPassword").value,
      }),
    "cancel-deletion": () => call("POST", "/api/auth/cancel-deletion", { token }),
    // Signed out: create the account with the invitation's token (it proves the mailbox, so the account is
    // active at once). The API answers alike whether or not the address already had an account.
    "accept-invite": async () => {
      const name = document.getElementById("name").value.trim();
      const res = await call("POST", "/api/auth/register", {
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
        ...(name ? { name } : {}),
        inviteToken: token,
      });
      if (!res.ok) return res;
      const message =
        "Done. If this address had no account yet, it is ready: sign in with this email and password. If it " +
        "already had an account, nothing was changed: sign in to the app and accept the invitation there.";
      return { ok: true, data: { message } };
    },
  };

  // Sends the form's request once per click; the form disappears on success.
  const wire = (target, action) => {
    target.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = target.querySelector("button");
      button.disabled = true;
      try {
        const { ok, data } = await action();
        if (ok) {
          target.hidden = true;
          show(true, data.message || "Done.");
        } else {
          show(false, data.detail || "Something went wrong. Please try again.");
          button.disabled = false;
        }
      } catch {
        show(false, "The server could not be reached. Please try again.");
        button.disabled = false;
      }
    });
  };

  if (page === "oauth-callback") {
    oauthCallback();
    return;
  }

  if (!token && page === "reset-password") {
    // Linked without a token from security notices: ask for a reset link instead.
    const requestForm = document.getElementById("request-form");
    form.hidden = true;
    requestForm.hidden = false;
    wire(requestForm, () =>
      call("POST", "/api/auth/request-password-reset", { email: document.getElementById("email").value }),
    );
    return;
  }
  if (!token) {
    show(false, "This link is incomplete. Open the link from your email again.");
    form.hidden = true;
    return;
  }
  wire(form, actions[page]);
  if (page === "verify-email") checkVerificationLink();

  // Asks (without changing anything) whether the link is live, so a dead one says so before the password.
  async function checkVerificationLink() {
    try {
      const { ok, data } = await call("GET", `/api/auth/verify-email?token=${encodeURIComponent(token)}`);
      if (!ok) return;
      if (data.alreadyVerified) {
        form.hidden = true;
        show(true, "This address is already verified. You can sign in.");
      } else if (!data.valid) {
        form.hidden = true;
        show(false, "This link has expired or was replaced by a newer one. Ask for a new link.");
      } else if (data.email) {
        const forEmail = document.getElementById("for-email");
        forEmail.textContent = `Account: ${data.email}`;
        forEmail.hidden = false;
      }
    } catch {
      // The form still works; the POST reports what is wrong.
    }
  }

  // The page behind FRONTEND_URL/oauth/callback: exchanges the one-time code at once (it lives 60 s and was
  // never mailed, so no scanner can spend it) and shows who is signed in, or why Google sign-in failed.
  async function oauthCallback() {
    const progress = document.getElementById("progress");
    const retry = document.getElementById("retry");
    const fail = (text) => {
      progress.hidden = true;
      show(false, text);
      retry.hidden = false;
    };
    const code = fragment.get("code");
    if (!code) {
      fail(OAUTH_ERRORS[fragment.get("error")] || "Google sign-in failed. Please try again.");
      return;
    }
    try {
      const { ok, data } = await call("POST", "/api/auth/oauth/exchange", { code });
      if (!ok) {
        fail(OAUTH_ERRORS[data.code] || data.detail || "Google sign-in failed. Please try again.");
        return;
      }
      progress.hidden = true;
      const workspace = data.workspace ? ` in ${data.workspace.name}` : "";
      show(true, `You are signed in as ${data.user.email}${workspace}.`);
      document.getElementById("access-token").textContent = data.accessToken;
      document.getElementById("token-details").hidden = false;
    } catch {
      fail("The server could not be reached. Please try again.");
    }
  }
})();
