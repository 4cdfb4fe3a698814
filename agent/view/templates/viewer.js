(() => {
  "use strict";
  const steps = Array.from(document.querySelectorAll("section.step"));
  const chips = Array.from(document.querySelectorAll(".steps-nav .chip"));
  let current = -1;
  let scrolledTo = null;

  // The last step whose card starts above the sticky bar's bottom edge; -1 while the summary shows.
  const visible = () => {
    let best = -1;
    steps.forEach((step, i) => { if (step.getBoundingClientRect().top <= 90) best = i; });
    return best;
  };
  // Keys move from the step shown last, unless the reader has scrolled since.
  const here = () => (current >= 0 && window.scrollY === scrolledTo ? current : visible());

  const show = (index) => {
    if (!steps.length) return;
    current = Math.max(0, Math.min(steps.length - 1, index));
    steps.forEach((step, i) => step.classList.toggle("current", i === current));
    chips.forEach((chip, i) => chip.classList.toggle("current", i === current));
    steps[current].scrollIntoView({ block: "start" });
    scrolledTo = window.scrollY;
    history.replaceState(null, "", "#" + steps[current].id);
  };

  const moves = { ArrowRight: 1, j: 1, ArrowLeft: -1, k: -1 };
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key in moves) show(here() + moves[event.key]);
    else if (event.key === "Home") show(0);
    else if (event.key === "End") show(steps.length - 1);
    else return;
    event.preventDefault();
  });

  chips.forEach((chip, i) => chip.addEventListener("click", (event) => { event.preventDefault(); show(i); }));

  const fromHash = steps.findIndex((step) => "#" + step.id === location.hash);
  if (fromHash >= 0) show(fromHash);
})();
