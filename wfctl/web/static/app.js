// wfctl web: the little JavaScript there is. A page of a run that has not ended reloads itself
// when the run changes (its event count or status), so a resumed hook shows the run finish.
(function () {
  "use strict";
  const live = document.querySelector("[data-live-run]");
  if (live) {
    const url = live.getAttribute("data-state-url");
    let known = live.getAttribute("data-events") + "/" + live.getAttribute("data-status");
    const poll = async () => {
      try {
        const res = await fetch(url, { headers: { accept: "application/json" } });
        if (res.ok) {
          const s = await res.json();
          const now = s.eventCount + "/" + s.status;
          if (now !== known) {
            known = now;
            window.location.reload();
            return;
          }
        }
      } catch (e) {
        /* the server may be restarting: try again */
      }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 1000);
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
    });
  }
})();
