// Built-in pages for mailed links (DESIGN.md "Built-in pages"). Nothing is sent until the user clicks, so a
// mail scanner that opens the link does no harm. The token is read from the URL and sent only to this API.
(() => {
  const page = document.body.dataset.page;
  const token = new URLSearchParams(location.search).get("token") || "";
  const form = document.getElementById("form");
  const result = document.getElementById("result");
  // Drop the token from the address bar and history once read.
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

  const actions = {
    "verify-email": () => call("GET", `/api/auth/verify-email?token=${encodeURIComponent(token)}`),
    "reset-password": () =>
      call("POST", "/api/auth/reset-password", {
        token,
        newPassword: document.getElementById("newPassword").value,
      }),
    "cancel-deletion": () => call("POST", "/api/auth/cancel-deletion", { token }),
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
})();
