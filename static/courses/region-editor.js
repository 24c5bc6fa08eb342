// The region editor on an image question's admin page: draw the target and avoid regions on
// the stem stack's slices. Each region is a row of the inline below the panel
// (templates/admin/courses/question/regions_inline.html); drawing writes the row's Shapes box,
// which stays editable (typing in it is the keyboard's and the no-JavaScript way) and is what
// the form saves. Shapes are fractions of the image (0 to 1 from the top left) on a slice
// index, as irlearn/stacks/geometry.py reads them.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var MIN_SIZE = 0.004; // an ellipse narrower than this is a click, not a drag: not drawn
  var SAME_POINT = 0.004; // a polygon corner this close to the last one is the same click
  var PAGE_STEP = 10;
  var PRELOAD = 3; // slices either side of the one shown

  function clamp(value) { return Math.max(0, Math.min(1, value)); }
  function round(value) { return Math.round(value * 10000) / 10000; }

  function RegionEditor(root) {
    var q = function (selector) { return root.querySelector(selector); };
    this.root = root;
    this.count = Number(root.dataset.count);
    this.title = root.dataset.title;
    this.prefix = root.dataset.formset;
    this.group = document.getElementById(this.prefix + "-group");
    this.index = 0;
    this.tool = "ellipse";
    this.row = null; // the inline row being drawn in
    this.drag = null; // an ellipse being dragged
    this.corners = null; // a polygon's corners so far
    this.loaded = false; // the manifest: every slice's URL, per window
    this.windows = {};
    this.select = q(".region-editor-region");
    this.toolButtons = Array.prototype.slice.call(root.querySelectorAll("[data-tool]"));
    this.closeButton = q(".region-editor-close");
    this.stage = q(".region-editor-stage");
    this.image = q(".region-editor-image");
    this.overlay = q(".region-editor-overlay");
    this.slider = q(".region-editor-slider");
    this.counter = q(".region-editor-counter");
    this.windowSelect = q(".region-editor-window");
    this.copyNext = q(".region-editor-copy-next");
    this.from = q(".region-editor-from");
    this.to = q(".region-editor-to");
    this.copyRange = q(".region-editor-copy-range");
    this.shapesHeading = q(".region-editor-shapes-heading");
    this.shapeList = q(".region-editor-shapes");
    this.slicesNote = q(".region-editor-slices");
    this.status = q(".region-editor-status");
    this.enhance();
  }

  RegionEditor.prototype.enhance = function () {
    var self = this;
    this.root.hidden = false;
    var fallback = this.root.parentNode.querySelector(".region-editor-nojs");
    if (fallback) fallback.hidden = true;
    this.toolButtons.forEach(function (button) {
      button.addEventListener("click", function () { self.setTool(button.dataset.tool); });
    });
    this.closeButton.addEventListener("click", function () { self.closePolygon(); });
    this.select.addEventListener("change", function () { self.choose(self.rowById(self.select.value)); });
    this.slider.addEventListener("input", function () { self.go(Number(self.slider.value) - 1); });
    if (this.windowSelect) {
      this.windowSelect.addEventListener("change", function () { self.showImage(); });
    }
    this.copyNext.addEventListener("click", function () { self.copyToNext(); });
    this.copyRange.addEventListener("click", function () { self.copyToRange(); });
    this.stage.addEventListener("pointerdown", function (event) { self.onPointerDown(event); });
    this.stage.addEventListener("pointermove", function (event) { self.onPointerMove(event); });
    this.stage.addEventListener("pointerup", function (event) { self.onPointerUp(event); });
    this.stage.addEventListener("pointercancel", function () { self.cancel(); });
    this.stage.addEventListener("click", function (event) { self.onClick(event); });
    this.stage.addEventListener("dblclick", function (event) {
      event.preventDefault();
      self.closePolygon();
    });
    this.stage.addEventListener("keydown", function (event) { self.onKey(event); });
    // Not passive: the wheel over the image changes the slice, not the page.
    this.stage.addEventListener("wheel", function (event) { self.onWheel(event); }, { passive: false });
    // The rows: typing in a Shapes box redraws; renaming, a new row or a deleted one relists.
    this.group.addEventListener("input", function () { self.refresh(); });
    this.group.addEventListener("change", function () { self.refresh(); });
    document.addEventListener("formset:added", function (event) {
      if (event.detail && event.detail.formsetName === self.prefix) self.refresh(event.target);
    });
    document.addEventListener("formset:removed", function (event) {
      if (event.detail && event.detail.formsetName === self.prefix) self.refresh();
    });
    this.refresh();
    this.load();
  };

  RegionEditor.prototype.load = function () {
    var self = this;
    fetch(this.root.dataset.manifest, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("manifest: HTTP " + response.status);
        return response.json();
      })
      .then(function (manifest) {
        manifest.windows.forEach(function (window) { self.windows[window.key] = window.urls; });
        self.count = manifest.count;
        self.slider.disabled = false;
        if (self.windowSelect) self.windowSelect.disabled = false;
        self.loaded = true;
        self.preload();
      })
      .catch(function () {
        self.say("The other slices could not be loaded: reload the page to try again.");
      });
  };

  RegionEditor.prototype.currentUrls = function () {
    var key = this.windowSelect ? this.windowSelect.value : Object.keys(this.windows)[0];
    return this.windows[key];
  };

  RegionEditor.prototype.preload = function () {
    var urls = this.currentUrls();
    for (var d = 1; d <= PRELOAD; d++) {
      [this.index + d, this.index - d].forEach(function (i) {
        if (i >= 0 && i < urls.length) new Image().src = urls[i];
      });
    }
  };

  // The regions' rows (not the hidden template of a new one) and their fields.

  RegionEditor.prototype.rows = function () {
    var own = new RegExp("^" + this.prefix + "-\\d+$");
    return Array.prototype.filter.call(this.group.querySelectorAll(".inline-related"), function (row) {
      return own.test(row.id) && !row.classList.contains("empty-form");
    });
  };

  RegionEditor.prototype.rowById = function (id) {
    return this.rows().filter(function (row) { return row.id === id; })[0] || null;
  };

  function field(row, name) { return row.querySelector("[name$='-" + name + "']"); }

  function isDeleted(row) {
    var box = field(row, "DELETE");
    return Boolean(box && box.checked);
  }

  function roleOf(row) { return field(row, "role").value; }

  function nameOf(row) {
    var role = field(row, "role");
    var option = role.options[role.selectedIndex];
    var label = field(row, "label").value.trim();
    return (option ? option.text : "Region") + ": " + (label || "not named yet");
  }

  // The row's shapes, or null when its box does not hold a JSON list.
  function shapesOf(row) {
    var text = field(row, "shapes").value.trim();
    if (!text) return [];
    try {
      var shapes = JSON.parse(text);
      return Array.isArray(shapes) ? shapes : null;
    } catch (error) {
      return null;
    }
  }

  // One shape a line: short enough to read and to correct by hand.
  function writeShapes(row, shapes) {
    field(row, "shapes").value = shapes.length
      ? "[\n" + shapes.map(function (s) { return JSON.stringify(s); }).join(",\n") + "\n]"
      : "[]";
  }

  RegionEditor.prototype.refresh = function (chosen) {
    var rows = this.rows(), self = this;
    if (chosen && rows.indexOf(chosen) < 0) chosen = null;
    // The row chosen, else the one being drawn in, else the first target (what is drawn first).
    var targets = rows.filter(function (r) { return roleOf(r) === "target"; });
    var row = chosen || (rows.indexOf(this.row) >= 0 ? this.row : targets[0] || rows[0] || null);
    this.select.textContent = "";
    rows.forEach(function (r, i) {
      var option = document.createElement("option");
      option.value = r.id;
      option.textContent = (i + 1) + ". " + nameOf(r) + (isDeleted(r) ? " (to be deleted)" : "");
      self.select.appendChild(option);
    });
    this.select.disabled = !rows.length;
    this.choose(row);
  };

  RegionEditor.prototype.choose = function (row) {
    if (row !== this.row) this.cancel();
    if (this.row) this.row.classList.remove("is-drawing");
    this.row = row;
    if (row) {
      row.classList.add("is-drawing");
      this.select.value = row.id;
    }
    this.render();
  };

  // Moving through the stack.

  RegionEditor.prototype.go = function (index) {
    index = Math.max(0, Math.min(this.count - 1, Math.round(index)));
    if (index === this.index || !this.loaded) return;
    if (this.corners) this.cancel("The polygon was left unfinished on the last slice.");
    this.index = index;
    this.showImage();
    this.preload();
    this.render();
  };

  RegionEditor.prototype.showImage = function () {
    var text = "slice " + (this.index + 1) + " of " + this.count;
    if (this.loaded) this.image.src = this.currentUrls()[this.index];
    this.image.alt = this.title + ": " + text;
    this.counter.textContent = "Slice " + (this.index + 1) + " of " + this.count;
    this.slider.value = this.index + 1;
    this.slider.setAttribute("aria-valuetext", "Slice " + (this.index + 1) + " of " + this.count);
  };

  // Drawing.

  RegionEditor.prototype.setTool = function (tool) {
    this.cancel();
    this.tool = tool;
    this.toolButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
    });
    this.stage.classList.toggle("is-polygon", tool === "polygon");
  };

  RegionEditor.prototype.toImage = function (event) {
    var box = this.image.getBoundingClientRect();
    return {
      x: clamp((event.clientX - box.left) / box.width),
      y: clamp((event.clientY - box.top) / box.height),
    };
  };

  // Drawing needs a region to draw in whose box holds shapes this can add to.
  RegionEditor.prototype.canDraw = function () {
    if (!this.row) {
      this.say("Add a region (“Add another Region” below) to draw in.");
      return false;
    }
    if (shapesOf(this.row) === null) {
      this.say("The Shapes box of " + nameOf(this.row) + " is not a JSON list: correct it or empty it first.");
      return false;
    }
    return true;
  };

  RegionEditor.prototype.onPointerDown = function (event) {
    if (event.button !== 0 || this.tool !== "ellipse" || !this.canDraw()) return;
    this.drag = { id: event.pointerId, start: this.toImage(event), end: null };
    try {
      this.stage.setPointerCapture(event.pointerId);
    } catch (error) {
      // A pointer the browser does not know (a synthetic event): follow it without capture.
    }
  };

  RegionEditor.prototype.onPointerMove = function (event) {
    if (this.drag && event.pointerId === this.drag.id) {
      this.drag.end = this.toImage(event);
      this.render();
    }
  };

  RegionEditor.prototype.onPointerUp = function (event) {
    var drag = this.drag;
    if (!drag || event.pointerId !== drag.id) return;
    this.drag = null;
    drag.end = this.toImage(event);
    var shape = ellipseOf(drag.start, drag.end);
    if (shape.rx < MIN_SIZE || shape.ry < MIN_SIZE) {
      this.render();
      this.say("Drag across the image to draw an ellipse.");
      return;
    }
    this.add(shape, "Ellipse");
  };

  function ellipseOf(a, b) {
    return {
      kind: "ellipse",
      cx: round((a.x + b.x) / 2),
      cy: round((a.y + b.y) / 2),
      rx: round(Math.abs(b.x - a.x) / 2),
      ry: round(Math.abs(b.y - a.y) / 2),
    };
  }

  RegionEditor.prototype.onClick = function (event) {
    if (this.tool !== "polygon" || event.button !== 0 || !this.canDraw()) return;
    var point = this.toImage(event);
    var corners = this.corners || [];
    var last = corners[corners.length - 1];
    // The second click of a double-click lands where the first did: one corner, not two.
    if (last && Math.abs(last[0] - point.x) < SAME_POINT && Math.abs(last[1] - point.y) < SAME_POINT) return;
    this.corners = corners.concat([[round(point.x), round(point.y)]]);
    this.closeButton.disabled = this.corners.length < 3;
    this.say("Corner " + this.corners.length + " set" + (this.corners.length >= 3 ? ": double-click or press Enter to close the polygon." : "."));
    this.render();
  };

  RegionEditor.prototype.closePolygon = function () {
    if (!this.corners) return;
    if (this.corners.length < 3) {
      this.say("A polygon needs at least 3 corners.");
      return;
    }
    var shape = { kind: "polygon", points: this.corners };
    this.corners = null;
    this.closeButton.disabled = true;
    this.add(shape, "Polygon");
  };

  RegionEditor.prototype.cancel = function (message) {
    var drawing = this.drag || this.corners;
    this.drag = null;
    this.corners = null;
    this.closeButton.disabled = true;
    if (drawing) {
      this.say(message || "Drawing cancelled.");
      this.render();
    }
  };

  RegionEditor.prototype.add = function (shape, noun) {
    var shapes = shapesOf(this.row);
    var placed = { slice: this.index };
    Object.keys(shape).forEach(function (key) { placed[key] = shape[key]; });
    writeShapes(this.row, shapes.concat([placed]));
    this.say(noun + " drawn on slice " + (this.index + 1) + " for " + nameOf(this.row) + ".");
    this.render();
  };

  RegionEditor.prototype.remove = function (position) {
    var shapes = shapesOf(this.row);
    var gone = shapes.splice(position, 1)[0];
    writeShapes(this.row, shapes);
    this.say((gone.kind === "polygon" ? "Polygon" : "Ellipse") + " deleted from slice " + (this.index + 1) + ".");
    this.render();
  };

  // Copying this slice's shapes of the region to other slices, in place of theirs.

  RegionEditor.prototype.copyTo = function (first, last) {
    if (!this.canDraw()) return 0;
    var index = this.index;
    var shapes = shapesOf(this.row);
    var here = shapes.filter(function (s) { return s && s.slice === index; });
    if (!here.length) {
      this.say("Nothing to copy: draw the region on this slice first.");
      return 0;
    }
    var kept = shapes.filter(function (s) { return !s || s.slice === index || s.slice < first || s.slice > last; });
    for (var slice = first; slice <= last; slice++) {
      if (slice === index) continue;
      here.forEach(function (s) {
        var copy = JSON.parse(JSON.stringify(s));
        copy.slice = slice;
        kept.push(copy);
      });
    }
    kept.sort(function (a, b) { return (a ? a.slice : 0) - (b ? b.slice : 0); });
    writeShapes(this.row, kept);
    return here.length;
  };

  RegionEditor.prototype.copyToNext = function () {
    if (this.index + 1 >= this.count) {
      this.say("This is the last slice.");
      return;
    }
    var copied = this.copyTo(this.index + 1, this.index + 1);
    if (!copied) return;
    this.go(this.index + 1);
    this.say("Copied " + plural(copied, "shape") + " to slice " + (this.index + 1) + ".");
  };

  RegionEditor.prototype.copyToRange = function () {
    var first = Number(this.from.value), last = Number(this.to.value);
    if (!Number.isInteger(first) || !Number.isInteger(last) || !this.from.value || !this.to.value ||
        Math.min(first, last) < 1 || Math.max(first, last) > this.count) {
      this.say("Give the first and last slices to copy to, from 1 to " + this.count + ".");
      return;
    }
    if (first > last) { var swap = first; first = last; last = swap; }
    var copied = this.copyTo(first - 1, last - 1);
    if (!copied) return;
    this.render();
    this.say("Copied " + plural(copied, "shape") + " to slices " + first + " to " + last + ".");
  };

  function plural(n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); }

  // Keys and wheel.

  RegionEditor.prototype.onKey = function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var moves = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: PAGE_STEP, PageUp: -PAGE_STEP };
    if (event.key === "Enter") this.closePolygon();
    else if (event.key === "Escape") this.cancel();
    else if (event.key in moves) this.go(this.index + moves[event.key]);
    else if (event.key === "Home") this.go(0);
    else if (event.key === "End") this.go(this.count - 1);
    else return;
    event.preventDefault();
  };

  RegionEditor.prototype.onWheel = function (event) {
    if (event.ctrlKey || !this.loaded) return;
    event.preventDefault();
    if (event.deltaY) this.go(this.index + Math.sign(event.deltaY));
  };

  // Showing it.

  function element(name, attributes) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  // Boxes are typed in too: draw what makes sense, skip the rest (the form says what is wrong).
  function isPair(point) { return Array.isArray(point) && point.length === 2; }

  function drawShape(shape, className) {
    if (shape.kind === "ellipse") {
      return element("ellipse", { cx: shape.cx, cy: shape.cy, rx: shape.rx, ry: shape.ry, class: className });
    }
    if (shape.kind === "polygon" && Array.isArray(shape.points) && shape.points.every(isPair)) {
      return element("polygon", { points: shape.points.map(function (p) { return p.join(","); }).join(" "), class: className });
    }
    return null;
  }

  RegionEditor.prototype.render = function () {
    var self = this, index = this.index, overlay = this.overlay;
    overlay.textContent = "";
    this.rows().forEach(function (row) {
      var shapes = shapesOf(row);
      if (!shapes || isDeleted(row)) return;
      var className = "region-shape is-" + (roleOf(row) === "avoid" ? "avoid" : "target") + (row === self.row ? " is-current" : "");
      shapes.forEach(function (shape) {
        if (shape && shape.slice === index) {
          var node = drawShape(shape, className);
          if (node) overlay.appendChild(node);
        }
      });
    });
    if (this.drag && this.drag.end) overlay.appendChild(drawShape(ellipseOf(this.drag.start, this.drag.end), "region-draft"));
    if (this.corners) {
      overlay.appendChild(element("polyline", { points: this.corners.map(function (p) { return p.join(","); }).join(" "), class: "region-draft" }));
    }
    this.listShapes();
  };

  RegionEditor.prototype.listShapes = function () {
    var self = this, index = this.index, row = this.row;
    this.shapeList.textContent = "";
    if (!row) {
      this.shapesHeading.textContent = "No region to draw in";
      this.slicesNote.textContent = "";
      return;
    }
    this.shapesHeading.textContent = nameOf(row) + ", slice " + (index + 1);
    var shapes = shapesOf(row);
    if (shapes === null) {
      this.slicesNote.textContent = "Its Shapes box is not a JSON list: correct it or empty it to draw.";
      return;
    }
    var count = 0;
    shapes.forEach(function (shape, position) {
      if (!shape || shape.slice !== index) return;
      count++;
      var noun = shape.kind === "polygon" ? "Polygon" : "Ellipse";
      var item = document.createElement("li");
      var text = document.createElement("span");
      text.textContent = noun + (shape.kind === "polygon" && Array.isArray(shape.points) ? " (" + shape.points.length + " corners)" : "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button region-editor-delete";
      button.textContent = "Delete";
      button.setAttribute("aria-label", "Delete " + noun.toLowerCase() + " " + count + " on slice " + (index + 1));
      button.addEventListener("click", function () { self.remove(position); });
      item.appendChild(text);
      item.appendChild(button);
      self.shapeList.appendChild(item);
    });
    if (!count) {
      var empty = document.createElement("li");
      empty.textContent = "Nothing drawn on this slice.";
      this.shapeList.appendChild(empty);
    }
    var slices = [];
    shapes.forEach(function (shape) {
      if (shape && Number.isInteger(shape.slice) && slices.indexOf(shape.slice) < 0) slices.push(shape.slice);
    });
    slices.sort(function (a, b) { return a - b; });
    this.slicesNote.textContent = slices.length
      ? "Drawn on " + (slices.length === 1 ? "slice " : "slices ") + ranges(slices) + "."
      : "Not drawn on any slice yet.";
  };

  // [3, 4, 5, 9] -> "4 to 6, 10" (slices as editors count them, from 1).
  function ranges(slices) {
    var parts = [], start = slices[0], previous = slices[0];
    slices.slice(1).concat([null]).forEach(function (slice) {
      if (slice === previous + 1) { previous = slice; return; }
      parts.push(start === previous ? String(start + 1) : (start + 1) + " to " + (previous + 1));
      start = previous = slice;
    });
    return parts.join(", ");
  }

  RegionEditor.prototype.say = function (message) {
    this.status.textContent = message;
  };

  function start() {
    document.querySelectorAll(".region-editor").forEach(function (root) {
      if (!root.regionEditor) root.regionEditor = new RegionEditor(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
