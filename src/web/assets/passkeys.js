// Passkeys for Shield's team pages: signing in with one (second-factor page) and adding
// one (account page). Served from 'self' (the CSP allows no inline script). Everything
// else on these pages works without JavaScript; this only adds the passkey buttons.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return { id: fromBase64url(c.id), type: c.type, transports: c.transports };
    });
  }

  async function postJson(url, csrf, body) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body || {}),
    });
    var data = await response.json().catch(function () {
      return {};
    });
    if (!response.ok) {
      var error = (data && data.error) || {};
      var fields = error.fields || {};
      throw new Error(fields.password || fields.currentPassword || error.message || "Something went wrong (" + response.status + ").");
    }
    return data;
  }

  function showError(element, message) {
    if (!element) return;
    element.textContent = message;
    element.hidden = false;
  }

  function describeFailure(error) {
    if (error && error.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
    if (error && error.name === "InvalidStateError") return "This passkey is registered already.";
    return (error && error.message) || "The passkey did not work.";
  }

  // ---- signing in with a passkey (second-factor page) ----
  var signIn = document.querySelector("[data-passkey-signin]");
  if (signIn) {
    var signInButton = signIn.querySelector("[data-passkey-signin-button]");
    var signInError = signIn.querySelector("[data-passkey-error]");
    signIn.hidden = false;
    signInButton.addEventListener("click", async function () {
      signInButton.disabled = true;
      if (signInError) signInError.hidden = true;
      try {
        var csrf = signInButton.getAttribute("data-csrf");
        var options = await postJson("/login/passkey/options", csrf, {});
        var credential = await navigator.credentials.get({
          publicKey: {
            challenge: fromBase64url(options.challenge),
            rpId: options.rpId,
            timeout: options.timeout,
            userVerification: options.userVerification,
            allowCredentials: withIds(options.allowCredentials),
          },
        });
        var response = credential.response;
        var result = await postJson("/login/passkey", csrf, {
          id: credential.id,
          rawId: toBase64url(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toBase64url(response.clientDataJSON),
            authenticatorData: toBase64url(response.authenticatorData),
            signature: toBase64url(response.signature),
            userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined,
          },
          clientExtensionResults: credential.getClientExtensionResults(),
          authenticatorAttachment: credential.authenticatorAttachment || undefined,
        });
        window.location.assign(result.redirect);
      } catch (error) {
        showError(signInError, describeFailure(error));
        signInButton.disabled = false;
      }
    });
  }

  // ---- adding a passkey (account page) ----
  var add = document.querySelector("form[data-passkey-add]");
  if (add) {
    var addError = add.querySelector("[data-passkey-error]");
    var addButton = add.querySelector("button[type=submit]");
    add.hidden = false;
    add.addEventListener("submit", async function (event) {
      event.preventDefault();
      addButton.disabled = true;
      if (addError) addError.hidden = true;
      try {
        var csrf = add.getAttribute("data-csrf");
        var name = add.querySelector("[name=name]").value;
        var options = await postJson("/team/account/passkeys/options", csrf, { currentPassword: add.querySelector("[name=currentPassword]").value });
        var credential = await navigator.credentials.create({
          publicKey: {
            challenge: fromBase64url(options.challenge),
            rp: options.rp,
            user: { id: fromBase64url(options.user.id), name: options.user.name, displayName: options.user.displayName },
            pubKeyCredParams: options.pubKeyCredParams,
            timeout: options.timeout,
            attestation: options.attestation,
            excludeCredentials: withIds(options.excludeCredentials),
            authenticatorSelection: options.authenticatorSelection,
          },
        });
        var response = credential.response;
        var result = await postJson("/team/account/passkeys", csrf, {
          name: name,
          response: {
            id: credential.id,
            rawId: toBase64url(credential.rawId),
            type: credential.type,
            response: {
              clientDataJSON: toBase64url(response.clientDataJSON),
              attestationObject: toBase64url(response.attestationObject),
              transports: typeof response.getTransports === "function" ? response.getTransports() : [],
            },
            clientExtensionResults: credential.getClientExtensionResults(),
            authenticatorAttachment: credential.authenticatorAttachment || undefined,
          },
        });
        window.location.assign(result.redirect);
      } catch (error) {
        showError(addError, describeFailure(error));
        addButton.disabled = false;
      }
    });
  }
})();
