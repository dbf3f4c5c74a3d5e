// The live tail component (views/pages/log-tail-page.tsx), for Alpine's CSP build: registered
// with Alpine.data, so the markup only names properties and methods.
document.addEventListener('alpine:init', () => {
  const LEVEL_CLASSES = {
    trace: 'text-slate-500',
    debug: 'text-slate-600 dark:text-slate-300',
    info: 'text-sky-700 dark:text-sky-300',
    warn: 'text-amber-700 dark:text-amber-300',
    error: 'text-rose-700 dark:text-rose-300',
    fatal: 'text-rose-700 font-bold dark:text-rose-300',
  };
  const NEAR_BOTTOM_PX = 24;

  window.Alpine.data('logTail', () => ({
    state: 'Connecting…',
    stateClass: 'bg-slate-100 text-slate-700',
    paused: false,
    pausedBy: null,
    toggleLabel: 'Pause',
    shown: 0,
    waiting: 0,
    dropped: 0,
    lastId: null,
    buffer: [],
    source: null,
    retry: null,

    init() {
      this.maxLines = Number(this.$el.dataset.maxLines) || 1000;
      this.maxBuffered = Number(this.$el.dataset.maxBuffered) || 5000;
      this.connect();
    },

    destroy() {
      this.source?.close();
      clearTimeout(this.retry);
    },

    connect() {
      let url = this.$el.dataset.stream;
      if (this.lastId !== null) url += `&log_after=${this.lastId}`;
      const source = new EventSource(url);
      this.source = source;
      source.addEventListener('open', () => this.show());
      source.addEventListener('log', (event) => this.receive(JSON.parse(event.data)));
      source.addEventListener('dropped', (event) => {
        this.dropped += JSON.parse(event.data).count;
      });
      source.addEventListener('revoked', () => {
        source.close();
        this.setState('Access ended — reload the page', 'bg-rose-100 text-rose-800');
      });
      source.addEventListener('error', () => {
        // Reconnect ourselves, from the last line received (EventSource would resume status events only).
        source.close();
        this.setState('Reconnecting…', 'bg-amber-100 text-amber-800');
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.connect(), 1500);
      });
    },

    setState(text, classes) {
      this.state = text;
      this.stateClass = classes;
    },

    show() {
      if (this.paused) {
        this.setState(
          this.pausedBy === 'scroll' ? 'Paused — scrolled up' : 'Paused',
          'bg-amber-100 text-amber-800',
        );
      } else this.setState('Live', 'bg-emerald-100 text-emerald-800');
    },

    receive(line) {
      this.lastId = line.id;
      if (this.paused) {
        this.buffer.push(line);
        // Bounded while paused: the oldest waiting lines go first, and are counted.
        if (this.buffer.length > this.maxBuffered) {
          this.buffer.shift();
          this.dropped += 1;
        }
        this.waiting = this.buffer.length;
        return;
      }
      this.append([line]);
    },

    append(lines) {
      const list = this.$refs.lines;
      const fragment = document.createDocumentFragment();
      for (const line of lines) fragment.appendChild(this.render(line));
      list.appendChild(fragment);
      // Bounded in the page: the oldest lines leave.
      while (list.childElementCount > this.maxLines) list.firstElementChild.remove();
      this.shown = list.childElementCount;
      if (!this.paused) list.scrollTop = list.scrollHeight;
    },

    render(line) {
      const item = document.createElement('li');
      item.className = 'whitespace-pre-wrap break-all py-0.5';
      item.dataset.logId = String(line.id);
      const time = document.createElement('span');
      time.className = 'mr-2 text-slate-500';
      time.textContent = String(line.ts).replace('T', ' ').replace('Z', '');
      const level = document.createElement('span');
      level.className = `mr-2 inline-block w-12 uppercase ${LEVEL_CLASSES[line.level] ?? ''}`;
      level.textContent = line.level;
      const message = document.createElement('span');
      message.textContent = line.message;
      item.append(time, level, message);
      return item;
    },

    onScroll() {
      const list = this.$refs.lines;
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight <= NEAR_BOTTOM_PX;
      if (!atBottom && !this.paused) this.pause('scroll');
      else if (atBottom && this.paused && this.pausedBy === 'scroll') this.resume();
    },

    pause(by) {
      this.paused = true;
      this.pausedBy = by;
      this.toggleLabel = 'Resume';
      this.show();
    },

    resume() {
      this.paused = false;
      this.pausedBy = null;
      this.toggleLabel = 'Pause';
      const waiting = this.buffer.splice(0);
      this.waiting = 0;
      if (waiting.length > 0) this.append(waiting.slice(-this.maxLines));
      this.$refs.lines.scrollTop = this.$refs.lines.scrollHeight;
      this.show();
    },

    toggle() {
      if (this.paused) this.resume();
      else this.pause('button');
    },
  }));
});
