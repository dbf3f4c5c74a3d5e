// ktrlplane's own browser behaviour: Alpine components for the CSP build of Alpine (which cannot
// evaluate inline JavaScript, only names of data, getters and methods). Loaded before alpine.js
// (both deferred, in document order), so the components exist when Alpine starts.

document.addEventListener('alpine:init', () => {
  const Alpine = window.Alpine;

  /**
   * Hover values of a server-rendered chart (src/views/components/chart.tsx). The server puts the
   * x positions (SVG units), the time labels and the formatted values in `data-chart`; this only
   * finds the time nearest the pointer (or moves with the arrow keys) and shows its values.
   */
  Alpine.data('chart', () => ({
    active: false,
    index: -1,
    guide: 0,
    label: '',
    rows: [],
    tipStyle: {},

    init() {
      try {
        this.data = JSON.parse(this.$el.dataset.chart || '{}');
      } catch {
        this.data = { xs: [], times: [], series: [], width: 1 };
      }
    },

    move(event) {
      const xs = this.data.xs;
      if (!xs || xs.length === 0) return;
      const rect = this.$refs.svg.getBoundingClientRect();
      const x = ((event.clientX - rect.left) / rect.width) * this.data.width;
      let best = 0;
      for (let i = 1; i < xs.length; i++) if (Math.abs(xs[i] - x) < Math.abs(xs[best] - x)) best = i;
      this.show(best);
    },

    focusFirst() {
      if (this.index < 0) this.show(this.data.xs.length - 1);
    },

    key(event) {
      if (event.key === 'ArrowLeft') this.previous();
      else if (event.key === 'ArrowRight') this.next();
      else return;
      event.preventDefault();
    },

    previous() {
      if (this.data.xs.length)
        this.show(Math.max(0, (this.index < 0 ? this.data.xs.length : this.index) - 1));
    },

    next() {
      if (this.data.xs.length) this.show(Math.min(this.data.xs.length - 1, this.index + 1));
    },

    show(i) {
      if (i < 0) return;
      this.index = i;
      this.guide = this.data.xs[i];
      this.label = this.data.times[i];
      const rows = this.data.series.map((s) => ({
        name: s.name,
        value: s.values[i],
        swatch: { backgroundColor: s.color },
      }));
      const present = rows.filter((row) => row.value !== null);
      this.rows = present.length ? present : rows.map((row) => ({ ...row, value: 'no data' }));
      // Beside the guide, on the side with more room (CSSOM styles: allowed by our CSP).
      const rect = this.$refs.svg.getBoundingClientRect();
      const px = (this.guide / this.data.width) * rect.width;
      this.tipStyle =
        px > rect.width / 2
          ? { left: 'auto', right: `${Math.round(rect.width - px + 10)}px` }
          : { right: 'auto', left: `${Math.round(px + 10)}px` };
      this.active = true;
    },

    leave() {
      this.active = false;
      this.index = -1;
    },
  }));
});
