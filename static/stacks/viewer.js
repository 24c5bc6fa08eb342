// The image stack viewer: scroll through a CT or ultrasound stack by wheel, keyboard, drag or
// slider; switch windows; measure a distance. The page (templates/stacks/viewer.html) holds the
// first slice; once the page has loaded, this fetches the manifest (every slice's URL) and
// preloads the current window's images, nearest slices first, a few at a time. Switching
// slices swaps the <img> src to an image already in the browser's memory. No canvas, no WebGL:
// the images are rendered on the server, one per slice and window.
//
// Marking mode (data-mark="target" or "route" on the figure, inside an image question's form):
// a click, a tap or Enter on the keyboard's cross places the next mark on the slice shown, and
// fills the form's hidden inputs (slice index, and x and y as fractions of the image).
(function () {
  "use strict";

  var PARALLEL = 4; // images loading at once
  var WHEEL_NOTCH = 40; // pixels of wheel movement per slice: a mouse notch is about 100
  var DRAG_STEP = 8; // pixels of drag per slice
  var TAP_SLOP = 6; // a press that moves less than this is a tap (a measuring point)
  var PAGE_STEP = 10; // slices per Page Up / Page Down
  var ANNOUNCE_AFTER = 700; // ms of stillness before the live region says where we are
  var MARKS = { target: ["target"], route: ["entry", "target"] }; // in the order they are placed
  var MARK_NAMES = { entry: "Entry point", target: "Target" };

  function StackViewer(root) {
    this.root = root;
    this.count = Number(root.dataset.count);
    this.noun = root.dataset.noun;
    this.index = 0;
    this.manifest = null;
    this.windowKey = null;
    this.loads = {}; // per window: {images: [], state: [], done, failed}
    this.busy = 0; // images loading now
    this.wheel = 0;
    this.drag = null;
    this.measuring = false;
    this.points = [];
    this.cursor = null; // the keyboard's measuring cross, in image pixels
    this.timer = null; // cine playback
    this.announceTimer = null;
    this.mark = MARKS[root.dataset.mark] ? root.dataset.mark : "";
    this.form = this.mark ? root.closest("form") : null;
    this.marks = {}; // placed marks by name: {slice, x, y}, x and y fractions of the image

    var q = function (selector) { return root.querySelector(selector); };
    this.viewport = q(".stack-viewport");
    this.frame = q(".stack-frame");
    this.image = q(".stack-image");
    this.counter = q(".stack-counter");
    this.windowName = q(".stack-window-name");
    this.controls = q(".stack-controls");
    this.slider = q(".stack-controls input[type=range]");
    this.windowButtons = Array.prototype.slice.call(root.querySelectorAll("[data-window]"));
    this.playButton = q(".stack-play");
    this.measureButton = q(".stack-measure");
    this.measureHelp = q(".stack-help");
    this.distance = q(".stack-distance");
    this.loading = q(".stack-loading");
    this.live = q(".stack-live");
    this.overlay = q(".stack-overlay");
    this.title = q(".stack-title").textContent;
    this.enhance();
  }

  StackViewer.prototype.enhance = function () {
    var self = this;
    this.root.classList.add("is-enhanced");
    this.viewport.tabIndex = 0;
    this.controls.hidden = false;
    this.setEnabled(false);
    this.viewport.addEventListener("keydown", function (event) { self.onKey(event); });
    // Not passive: the wheel over the image scrolls the stack, not the page.
    this.frame.addEventListener("wheel", function (event) { self.onWheel(event); }, { passive: false });
    this.frame.addEventListener("pointerdown", function (event) { self.onPointerDown(event); });
    this.frame.addEventListener("pointermove", function (event) { self.onPointerMove(event); });
    this.frame.addEventListener("pointerup", function (event) { self.onPointerUp(event); });
    this.frame.addEventListener("pointercancel", function () { self.drag = null; });
    this.slider.addEventListener("input", function () { self.go(self.slider.value - 1, "slider"); });
    this.windowButtons.forEach(function (button) {
      button.addEventListener("click", function () { self.setWindow(button.dataset.window); });
    });
    if (this.playButton) this.playButton.addEventListener("click", function () { self.togglePlay(); });
    if (this.measureButton) {
      this.measureButton.addEventListener("click", function () { self.setMeasuring(!self.measuring); });
    }
    this.root.querySelector(".stack-reset").addEventListener("click", function () { self.reset(); });
    if (this.mark) this.enhanceMarking();
    // The rest waits until the page itself has loaded: the page comes first.
    this.loading.hidden = false;
    if (document.readyState === "complete") this.load();
    else window.addEventListener("load", function () { self.load(); }, { once: true });
  };

  StackViewer.prototype.setEnabled = function (enabled) {
    this.controls.querySelectorAll("button, input").forEach(function (control) {
      control.disabled = !enabled;
    });
  };

  // Loading

  StackViewer.prototype.load = function () {
    var self = this;
    fetch(this.root.dataset.manifest, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("manifest: HTTP " + response.status);
        return response.json();
      })
      .then(function (manifest) {
        self.manifest = manifest;
        self.count = manifest.count;
        self.windowKey = manifest.windows[0].key;
        self.setEnabled(true);
        if (self.mark) self.readMarks();
        self.pump();
      })
      .catch(function () {
        self.loading.querySelector(".stack-loading-text").textContent =
          "The other images could not be loaded. Reload the page to try again.";
        self.loading.querySelector("progress").hidden = true;
      });
  };

  StackViewer.prototype.loadsOf = function (key) {
    if (!this.loads[key]) this.loads[key] = { images: [], state: [], done: 0, failed: 0 };
    return this.loads[key];
  };

  // The unloaded slice of the current window nearest the one shown, or -1.
  StackViewer.prototype.nextToLoad = function () {
    var state = this.loadsOf(this.windowKey).state;
    for (var distance = 0; distance < this.count; distance++) {
      var after = this.index + distance, before = this.index - distance;
      if (after < this.count && !state[after]) return after;
      if (before >= 0 && !state[before]) return before;
    }
    return -1;
  };

  // Start loads until PARALLEL are under way; each one finishing starts the next, so the
  // order follows the learner: after a jump, the slices around the new place come first.
  StackViewer.prototype.pump = function () {
    while (this.busy < PARALLEL) {
      var index = this.nextToLoad();
      if (index < 0) break;
      this.fetchImage(this.windowKey, index);
    }
    this.showProgress();
  };

  StackViewer.prototype.fetchImage = function (key, index) {
    var self = this, loads = this.loadsOf(key);
    var url = this.urls(key)[index];
    var image = new Image();
    loads.state[index] = "loading";
    this.busy++;
    image.src = url;
    // decode() resolves once the image is loaded and decoded, ready to show without a flash.
    image.decode().then(
      function () { loads.state[index] = "done"; loads.done++; },
      function () { loads.state[index] = "failed"; loads.failed++; }
    ).then(function () {
      loads.images[index] = image; // kept, so the browser keeps it in memory
      self.busy--;
      self.pump();
    });
  };

  StackViewer.prototype.showProgress = function () {
    var loads = this.loadsOf(this.windowKey);
    var settled = loads.done + loads.failed;
    this.loading.hidden = settled >= this.count;
    this.loading.querySelector("progress").value = loads.done;
    this.loading.querySelector(".stack-loading-text").textContent =
      "Loaded " + loads.done + " of " + this.count +
      (loads.failed ? " (" + loads.failed + " could not be loaded)" : "");
  };

  StackViewer.prototype.urls = function (key) {
    return this.manifest.windows.filter(function (w) { return w.key === key; })[0].urls;
  };

  // Moving through the stack

  StackViewer.prototype.label = function (index) {
    return this.noun + " " + (index + 1) + " of " + this.count;
  };

  // Show slice ``index``. ``how`` says what moved it: the slider speaks for itself and cine
  // playback must not chatter, so only the other ways are announced.
  StackViewer.prototype.go = function (index, how) {
    if (!this.manifest) return;
    if (how !== "play") this.stop();
    index = Math.max(0, Math.min(this.count - 1, Math.round(index)));
    if (index === this.index) return;
    this.index = index;
    this.render();
    if (how !== "slider" && how !== "play") this.announce();
  };

  StackViewer.prototype.render = function () {
    var text = this.label(this.index);
    this.image.src = this.urls(this.windowKey)[this.index];
    this.image.alt = this.title + ": " + text.toLowerCase();
    this.counter.textContent = text;
    this.slider.value = this.index + 1;
    this.slider.setAttribute("aria-valuetext", text);
    if (this.mark) this.drawMarks();
  };

  StackViewer.prototype.announce = function () {
    var self = this;
    window.clearTimeout(this.announceTimer);
    this.announceTimer = window.setTimeout(function () {
      self.live.textContent = self.label(self.index);
    }, ANNOUNCE_AFTER);
  };

  StackViewer.prototype.setWindow = function (key) {
    if (!this.manifest || key === this.windowKey) return;
    this.windowKey = key;
    this.windowButtons.forEach(function (button) {
      var on = button.dataset.window === key;
      button.setAttribute("aria-pressed", String(on));
      button.classList.toggle("active", on);
      if (on) this.windowName.textContent = button.dataset.caption;
    }, this);
    this.render();
    this.pump();
  };

  StackViewer.prototype.togglePlay = function () {
    var self = this;
    if (this.timer) { this.stop(); return; }
    // Only ever on request (never autoplay), so prefers-reduced-motion is respected.
    this.timer = window.setInterval(function () {
      self.go((self.index + 1) % self.count, "play");
    }, Math.max(this.manifest.frameTimeMs || 100, 20));
    this.playButton.textContent = "Pause";
  };

  StackViewer.prototype.stop = function () {
    if (!this.timer) return;
    window.clearInterval(this.timer);
    this.timer = null;
    this.playButton.textContent = "Play";
  };

  StackViewer.prototype.reset = function () {
    if (!this.manifest) return;
    this.stop();
    this.setMeasuring(false);
    this.points = [];
    this.drawMeasurement();
    if (this.windowButtons.length) this.setWindow(this.windowButtons[0].dataset.window);
    this.go(0, "reset");
  };

  // Input

  StackViewer.prototype.onKey = function (event) {
    if (!this.manifest || event.altKey || event.ctrlKey || event.metaKey) return;
    var key = event.key;
    if (this.measuring && this.onMeasureKey(event)) {
      event.preventDefault();
      return;
    }
    if (this.mark && !this.measuring && this.onMarkKey(event)) {
      event.preventDefault();
      return;
    }
    var moves = {
      ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1,
      PageDown: PAGE_STEP, PageUp: -PAGE_STEP,
    };
    if (key in moves) this.go(this.index + moves[key], "key");
    else if (key === "Home") this.go(0, "key");
    else if (key === "End") this.go(this.count - 1, "key");
    else return;
    event.preventDefault();
  };

  StackViewer.prototype.onWheel = function (event) {
    // Ctrl + wheel is the browser's zoom (and a touchpad's pinch): leave it alone.
    if (!this.manifest || event.ctrlKey || this.count < 2) return;
    event.preventDefault();
    var delta = event.deltaY * [1, 16, 400][event.deltaMode];
    if (delta === 0) return;
    // A mouse notch moves one slice; a touchpad's small steps add up to one.
    if (Math.sign(delta) !== Math.sign(this.wheel)) this.wheel = 0;
    this.wheel = Math.abs(delta) >= WHEEL_NOTCH ? delta : this.wheel + delta;
    if (Math.abs(this.wheel) >= WHEEL_NOTCH) {
      this.go(this.index + Math.sign(this.wheel), "wheel");
      this.wheel = 0;
    }
  };

  StackViewer.prototype.onPointerDown = function (event) {
    if (!this.manifest || event.button !== 0) return;
    this.drag = { id: event.pointerId, x: event.clientX, y: event.clientY, last: event.clientY, moved: false };
    try {
      this.frame.setPointerCapture(event.pointerId);
    } catch (error) {
      // A pointer the browser does not know (a synthetic event): follow it without capture.
    }
  };

  StackViewer.prototype.onPointerMove = function (event) {
    var drag = this.drag;
    if (!drag || event.pointerId !== drag.id) return;
    if (Math.abs(event.clientX - drag.x) > TAP_SLOP || Math.abs(event.clientY - drag.y) > TAP_SLOP) {
      drag.moved = true;
    }
    // Dragging down goes on through the stack, as the wheel and the down arrow do.
    var steps = Math.trunc((event.clientY - drag.last) / DRAG_STEP);
    if (steps) {
      drag.last += steps * DRAG_STEP;
      this.go(this.index + steps, "drag");
    }
  };

  StackViewer.prototype.onPointerUp = function (event) {
    var drag = this.drag;
    this.drag = null;
    if (!drag || event.pointerId !== drag.id) return;
    if (drag.moved) return;
    if (this.measuring) this.addPoint(this.toImage(event.clientX, event.clientY));
    else if (this.mark) this.placeMark(this.toImage(event.clientX, event.clientY));
  };

  // Measuring

  // Screen coordinates to the image's own pixels: the image is shown scaled to fit.
  StackViewer.prototype.toImage = function (clientX, clientY) {
    var box = this.image.getBoundingClientRect();
    var width = this.manifest.width, height = this.manifest.height;
    return {
      x: Math.max(0, Math.min(width, (clientX - box.left) * width / box.width)),
      y: Math.max(0, Math.min(height, (clientY - box.top) * height / box.height)),
    };
  };

  StackViewer.prototype.setMeasuring = function (on) {
    if (!this.measureButton) return;
    this.measuring = on;
    this.measureButton.setAttribute("aria-pressed", String(on));
    this.measureButton.classList.toggle("active", on);
    this.measureHelp.hidden = !on;
    this.root.classList.toggle("is-measuring", on);
    this.cursor = null;
    this.drawMeasurement();
  };

  // The keyboard's crosshair, shared by measuring and marking: the arrow keys move a cross
  // (with Shift, further) and Enter or Space calls ``confirm`` with its place.
  StackViewer.prototype.moveCursor = function (event, confirm) {
    var width = this.manifest.width, height = this.manifest.height;
    var step = (event.shiftKey ? 0.05 : 0.01) * Math.max(width, height);
    var moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (!(event.key in moves) && event.key !== "Enter" && event.key !== " ") return false;
    if (!this.cursor) this.cursor = { x: width / 2, y: height / 2 };
    if (event.key in moves) {
      this.cursor = {
        x: Math.max(0, Math.min(width, this.cursor.x + moves[event.key][0])),
        y: Math.max(0, Math.min(height, this.cursor.y + moves[event.key][1])),
      };
      this.drawMeasurement();
    } else {
      confirm.call(this, this.cursor);
    }
    return true;
  };

  // In measuring mode Escape stops measuring; the crosshair drops points.
  StackViewer.prototype.onMeasureKey = function (event) {
    if (event.key === "Escape") {
      this.setMeasuring(false);
      return true;
    }
    return this.moveCursor(event, this.addPoint);
  };

  StackViewer.prototype.addPoint = function (point) {
    this.points = this.points.length >= 2 ? [point] : this.points.concat([point]);
    this.drawMeasurement();
  };

  StackViewer.prototype.drawMeasurement = function () {
    if (!this.overlay) return;
    var points = this.points, spacing = this.manifest.spacing;
    var size = Math.max(this.manifest.width, this.manifest.height);
    var ruler = this.overlay.querySelector(".stack-ruler");
    var ends = this.overlay.querySelectorAll(".stack-point");
    var set = function (element, attributes) {
      Object.keys(attributes).forEach(function (name) { element.setAttribute(name, attributes[name]); });
    };
    ends.forEach(function (end, i) {
      end.classList.toggle("is-hidden", !points[i]);
      if (points[i]) set(end, { cx: points[i].x, cy: points[i].y, r: size * 0.01 });
    });
    ruler.classList.toggle("is-hidden", points.length < 2);
    if (points.length === 2) {
      set(ruler, { x1: points[0].x, y1: points[0].y, x2: points[1].x, y2: points[1].y });
      // Column spacing is across (x), row spacing down (y), in millimetres per pixel.
      var mm = Math.hypot(
        (points[1].x - points[0].x) * spacing.column,
        (points[1].y - points[0].y) * spacing.row
      );
      this.distance.textContent = mm.toFixed(1) + " mm";
    } else {
      this.distance.textContent = points.length ? "First point set" : "";
    }
    var cursor = this.overlay.querySelector(".stack-cursor");
    var showCursor = (this.measuring || this.mark) && this.cursor;
    cursor.classList.toggle("is-hidden", !showCursor);
    if (showCursor) {
      var c = this.cursor, arm = size * 0.03, lines = cursor.querySelectorAll("line");
      set(lines[0], { x1: c.x - arm, y1: c.y, x2: c.x + arm, y2: c.y });
      set(lines[1], { x1: c.x, y1: c.y - arm, x2: c.x, y2: c.y + arm });
    }
  };

  // Marking

  StackViewer.prototype.enhanceMarking = function () {
    var self = this;
    this.clearButton = this.root.querySelector(".stack-clear-marks");
    this.clearButton.addEventListener("click", function () { self.clearMarks(); });
    if (!this.form) return;
    this.summary = this.form.querySelector("[data-mark-summary]");
    if (this.summary) this.summary.hidden = false;
    this.form.querySelectorAll("[data-mark-redo]").forEach(function (button) {
      button.addEventListener("click", function () { self.redoMark(button.dataset.markRedo); });
    });
    // The cross shows where Enter will mark as soon as the keyboard reaches the image.
    this.viewport.addEventListener("focus", function () {
      if (!self.manifest || self.cursor || !self.viewport.matches(":focus-visible")) return;
      self.cursor = { x: self.manifest.width / 2, y: self.manifest.height / 2 };
      self.drawMeasurement();
    });
  };

  StackViewer.prototype.markOrder = function () {
    return MARKS[this.mark];
  };

  // The next mark a click places: the first not yet placed. With all placed, the learner is
  // starting again: a route's marks go back to none (its entry first); a target simply moves.
  StackViewer.prototype.nextMark = function () {
    var order = this.markOrder(), marks = this.marks;
    var missing = order.filter(function (name) { return !marks[name]; });
    if (missing.length) return missing[0];
    if (order.length > 1) this.marks = {};
    return order[0];
  };

  StackViewer.prototype.placeMark = function (point) {
    if (!this.manifest) return;
    var name = this.nextMark();
    this.marks[name] = {
      slice: this.index,
      x: point.x / this.manifest.width,
      y: point.y / this.manifest.height,
    };
    this.saveMarks();
    var next = this.markOrder().filter(function (n) { return !this.marks[n]; }, this)[0];
    var said = MARK_NAMES[name] + " set on " + this.noun.toLowerCase() + " " + (this.index + 1) + ".";
    if (next) said += " Now mark the " + (next === "entry" ? "skin entry point" : "target") + ".";
    else said += " Check your answer when you are ready.";
    this.say(said);
  };

  StackViewer.prototype.redoMark = function (name) {
    delete this.marks[name];
    this.saveMarks();
    this.say(MARK_NAMES[name] + " cleared: mark it again on the image.");
    this.viewport.focus();
  };

  StackViewer.prototype.clearMarks = function () {
    this.marks = {};
    this.saveMarks();
    this.say("Marks cleared.");
  };

  StackViewer.prototype.say = function (text) {
    window.clearTimeout(this.announceTimer);
    this.live.textContent = text;
  };

  // In marking mode the crosshair places the next mark, and Page Up / Page Down move one slice
  // (with Shift, ten).
  StackViewer.prototype.onMarkKey = function (event) {
    var pages = { PageDown: 1, PageUp: -1 };
    if (event.key in pages) {
      this.go(this.index + pages[event.key] * (event.shiftKey ? PAGE_STEP : 1), "key");
      return true;
    }
    return this.moveCursor(event, this.placeMark);
  };

  StackViewer.prototype.input = function (name, part) {
    return this.form ? this.form.elements.namedItem(name + "_" + part) : null;
  };

  // The form's hidden inputs, the summary beside them and the drawing follow the marks.
  StackViewer.prototype.saveMarks = function () {
    this.markOrder().forEach(function (name) {
      var mark = this.marks[name];
      var values = mark ? [String(mark.slice), mark.x.toFixed(4), mark.y.toFixed(4)] : ["", "", ""];
      ["slice", "x", "y"].forEach(function (part, i) {
        var input = this.input(name, part);
        if (input) input.value = values[i];
      }, this);
      var item = this.summary && this.summary.querySelector('[data-mark-item="' + name + '"]');
      if (item) {
        item.querySelector(".mark-value").textContent = mark
          ? this.noun.toLowerCase() + " " + (mark.slice + 1)
          : "not marked yet";
        item.querySelector("[data-mark-redo]").hidden = !mark;
      }
    }, this);
    this.drawMarks();
  };

  // Marks already in the form (the browser's back button keeps them) are shown again.
  StackViewer.prototype.readMarks = function () {
    var count = this.count;
    this.markOrder().forEach(function (name) {
      var parts = ["slice", "x", "y"].map(function (part) {
        var input = this.input(name, part);
        return input && input.value !== "" ? Number(input.value) : NaN;
      }, this);
      var ok = parts.every(isFinite) && parts[0] >= 0 && parts[0] < count &&
        parts[1] >= 0 && parts[1] <= 1 && parts[2] >= 0 && parts[2] <= 1;
      if (ok) this.marks[name] = { slice: parts[0], x: parts[1], y: parts[2] };
    }, this);
    this.saveMarks();
  };

  // Each mark is drawn solid on its own slice and as a dashed outline on the others, so the
  // learner sees where the route runs while scrolling between its ends.
  StackViewer.prototype.drawMarks = function () {
    if (!this.overlay || !this.manifest) return;
    var width = this.manifest.width, height = this.manifest.height;
    var size = Math.max(width, height) * 0.025, index = this.index;
    var set = function (element, attributes) {
      Object.keys(attributes).forEach(function (name) { element.setAttribute(name, attributes[name]); });
    };
    var at = function (mark) { return { x: mark.x * width, y: mark.y * height }; };
    var entry = this.marks.entry, target = this.marks.target;
    var entryShape = this.overlay.querySelector(".stack-mark-entry");
    var targetShape = this.overlay.querySelector(".stack-mark-target");
    var path = this.overlay.querySelector(".stack-mark-path");
    if (entryShape) {
      entryShape.classList.toggle("is-hidden", !entry);
      if (entry) {
        var e = at(entry);
        set(entryShape, { x: e.x - size, y: e.y - size, width: 2 * size, height: 2 * size });
        entryShape.classList.toggle("is-elsewhere", entry.slice !== index);
      }
    }
    targetShape.classList.toggle("is-hidden", !target);
    if (target) {
      var t = at(target);
      set(targetShape, { cx: t.x, cy: t.y, r: size });
      targetShape.classList.toggle("is-elsewhere", target.slice !== index);
    }
    path.classList.toggle("is-hidden", !(entry && target));
    if (entry && target) {
      var from = at(entry), to = at(target);
      set(path, { x1: from.x, y1: from.y, x2: to.x, y2: to.y });
    }
  };

  function start() {
    document.querySelectorAll("figure.stack-viewer").forEach(function (root) {
      if (!root.stackViewer) root.stackViewer = new StackViewer(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
