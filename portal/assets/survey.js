// The anonymous survey, blinded in the browser (RFC 9474, RSABSSA-SHA384-PSS-Randomized, @cloudflare/blindrsa-ts):
// the token is prepared and blinded here; the portal forwards only the blinded message (as the logged-in employee)
// and returns the blind signature; the browser finalises it and, after a random delay, sends the answer with the
// token directly to the gateway's anonymous route, without cookies or credentials. Bundled by esbuild into
// ../static/vendor/survey.bundle.js (npm run vendor); the page holds no inline script (CSP).
import { RSABSSA } from "@cloudflare/blindrsa-ts";

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text) {
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.substr(i * 2, 2), 16);
  return bytes;
}

async function publicKey(pem) {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return crypto.subtle.importKey("spki", der, { name: "RSA-PSS", hash: "SHA-384" }, true, ["verify"]);
}

function say(form, text, kind) {
  const note = form.querySelector("[data-survey-status]");
  note.textContent = text;
  note.className = "alert " + kind;
}

async function answer(form) {
  const lang = document.documentElement.lang === "en";
  const data = new FormData(form);
  const scores = {};
  for (const name of ["teaching", "service", "organisation"]) {
    const value = parseInt(data.get(name) || "", 10);
    if (!(value >= 1 && value <= 5)) {
      say(form, lang ? "Rate every question (1 to 5)." : "请为每一项打分（1 至 5 分）。", "error");
      return;
    }
    scores[name] = value;
  }
  const comment = (data.get("comment") || "").toString().trim();
  form.querySelector("button[type=submit]").disabled = true;
  say(form, lang ? "Preparing your anonymous token…" : "正在生成匿名凭证……", "info");
  const suite = RSABSSA.SHA384.PSS.Randomized();
  const key = await publicKey(form.dataset.publicKey);
  const inputMsg = suite.prepare(crypto.getRandomValues(new Uint8Array(32)));
  const { blindedMsg, inv } = await suite.blind(key, inputMsg);
  const token = document.querySelector("meta[name='csrf-token']").content;
  const signed = await fetch(form.dataset.tokenUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": token },
    body: JSON.stringify({ blinded_msg: hex(blindedMsg) }),
  });
  if (!signed.ok) {
    const problem = await signed.json().catch(() => ({}));
    say(form, problem.detail || (lang ? "The token was refused." : "未能取得匿名凭证。"), "error");
    return;
  }
  const sig = await suite.finalize(key, inputMsg, unhex((await signed.json()).blind_sig), inv);
  const wait = Math.floor(Math.random() * 1000 * parseFloat(form.dataset.maxDelay || "0"));
  say(form, lang ? "Your token is ready; the answer leaves in a moment, unlinked to you." : "匿名凭证已生成，答卷稍后匿名提交，请勿关闭本页。", "info");
  await new Promise((resolve) => setTimeout(resolve, wait));
  const sent = await fetch(form.dataset.answerUrl, {
    method: "POST",
    credentials: "omit",
    mode: "cors",
    cache: "no-store",
    referrerPolicy: "no-referrer",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ input_msg: hex(inputMsg), sig: hex(sig), ...scores, comment: comment || null }),
  });
  if (sent.ok) {
    say(form, lang ? "Thank you: your answer was recorded anonymously." : "谢谢！您的答卷已匿名提交。", "ok");
  } else {
    const problem = await sent.json().catch(() => ({}));
    say(form, problem.detail || (lang ? "The answer was refused." : "答卷未能提交。"), "error");
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches || !form.matches("form[data-survey]")) return;
  event.preventDefault();
  answer(form).catch(() => say(form, document.documentElement.lang === "en" ? "Something went wrong." : "出现问题，请稍后再试。", "error"));
});
