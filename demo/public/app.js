// The chat page: one WebSocket to /rooms/<room>?name=<name>, JSON messages both ways.
const $ = (id) => document.getElementById(id);
const ROOM = /^[a-z0-9][a-z0-9-]{0,23}$/;

/** The open (or opening) connection: { ws, room, name, id, opened, leaving }. */
let current;
/** The rooms listed in the sidebar, with their counts. */
let rooms = [];
let lastSender;

// ---- connection --------------------------------------------------------------------------

function connect(room, name) {
  disconnect();
  hideBanner();
  const params = new URLSearchParams();
  if (name) params.set('name', name); // no name: let the server refuse, that is what it is for
  const path = `/rooms/${encodeURIComponent(room)}?${params}`;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}${path}`);
  const state = { ws, room, name, id: undefined, opened: false, leaving: false };
  current = state;
  setStatus('connecting', 'Connecting…');
  renderRooms();

  ws.addEventListener('open', () => {
    state.opened = true;
  });
  ws.addEventListener('message', (event) => {
    if (current === state) handle(state, JSON.parse(event.data));
  });
  ws.addEventListener('close', async (event) => {
    if (current !== state || state.leaving) return;
    current = undefined;
    setStatus('offline', 'Offline');
    if (!state.opened) {
      // A refused handshake: browsers give scripts no status code, only a close event. A plain
      // GET of the same URL runs the same middleware, so ask it why.
      showJoin();
      showBanner(await explainRefusal(path));
      return;
    }
    const why = event.reason ? `${event.code} ${event.reason}` : event.code;
    showBanner(`Disconnected from #${room} (${why}).`, {
      label: 'Reconnect',
      action: () => connect(room, name),
    });
    renderRooms();
  });
}

async function explainRefusal(path) {
  try {
    const response = await fetch(path, { headers: { accept: 'application/json' } });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const error = body.error ?? response.statusText;
      return `The server refused the connection (HTTP ${response.status}): ${error}`;
    }
  } catch {
    // the server is not reachable at all
  }
  return 'Could not connect to the server. Is it running?';
}

function disconnect() {
  if (current === undefined) return;
  current.leaving = true;
  current.ws.close(1000, 'Bye');
  current = undefined;
}

function handle(state, message) {
  switch (message.type) {
    case 'welcome':
      state.id = message.id;
      setStatus('online', `Connected · worker ${message.worker}`);
      showRoom(state);
      break;
    case 'presence':
      if (message.room !== state.room) break;
      $('presence-count').textContent = String(message.count);
      $('people').textContent = peopleText(message.names);
      setRoomCount(message.room, message.count);
      break;
    case 'message':
      addMessage(message, message.from === state.id);
      break;
    case 'join':
      addNotice(`${message.name} joined`, message.at);
      break;
    case 'leave':
      addNotice(`${message.name} left`, message.at);
      break;
    case 'error':
      showBanner(message.message);
      break;
  }
}

// ---- views -------------------------------------------------------------------------------

function showJoin() {
  $('room-view').hidden = true;
  $('join').hidden = false;
  $('you').hidden = true;
  $('name').focus();
}

function showRoom(state) {
  $('join').hidden = true;
  $('room-view').hidden = false;
  $('room-name').textContent = state.room;
  $('presence-count').textContent = '1';
  $('people').textContent = '';
  $('text').placeholder = `Message #${state.room}`;
  $('you').hidden = false;
  $('you-name').textContent = state.name;
  paintAvatar($('you-avatar'), state.name);
  const list = $('messages');
  list.replaceChildren(emptyState());
  lastSender = undefined;
  history.replaceState(null, '', `?room=${encodeURIComponent(state.room)}`);
  $('text').focus();
  renderRooms();
}

function emptyState() {
  const li = document.createElement('li');
  li.className = 'empty muted';
  li.textContent = 'No messages yet. Say hello!';
  return li;
}

function addMessage(message, mine) {
  const list = $('messages');
  list.querySelector('.empty')?.remove();
  const continued = lastSender === message.from;
  lastSender = message.from;

  const li = document.createElement('li');
  li.className = `msg ${mine ? 'mine' : 'theirs'}${continued ? ' continued' : ''}`;
  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  paintAvatar(avatar, message.name);
  const body = document.createElement('div');
  body.className = 'msg-body';
  if (!continued) {
    const meta = document.createElement('div');
    meta.className = 'msg-meta';
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = mine ? 'You' : message.name;
    meta.append(author, time(message.at));
    body.append(meta);
  }
  const bubble = document.createElement('div');
  bubble.className = 'bubble';
  bubble.textContent = message.text;
  bubble.title = new Date(message.at).toLocaleString();
  body.append(bubble);
  li.append(avatar, body);
  append(li);
}

function addNotice(text, at) {
  const list = $('messages');
  list.querySelector('.empty')?.remove();
  lastSender = undefined;
  const li = document.createElement('li');
  li.className = 'notice';
  const span = document.createElement('span');
  span.textContent = text;
  span.append(' · ', time(at));
  li.append(span);
  append(li);
}

function append(li) {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function time(at) {
  const element = document.createElement('time');
  const date = new Date(at);
  element.dateTime = date.toISOString();
  element.textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return element;
}

function paintAvatar(element, name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) % 360;
  element.style.setProperty('--hue', String(hash));
  element.textContent = [...name.trim()][0]?.toUpperCase() ?? '?';
}

function peopleText(names) {
  const unique = [...new Set(names)];
  if (unique.length === 0) return '';
  const shown = unique.slice(0, 6).join(', ');
  return unique.length > 6 ? `${shown} and ${unique.length - 6} more` : shown;
}

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status-text').textContent = text;
}

function showBanner(text, button) {
  $('banner-text').textContent = text;
  const action = $('banner-action');
  action.hidden = button === undefined;
  if (button) {
    action.textContent = button.label;
    action.onclick = () => {
      hideBanner();
      button.action();
    };
  }
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

// ---- rooms sidebar -----------------------------------------------------------------------

async function refreshRooms() {
  try {
    const response = await fetch('/api/rooms');
    const info = await response.json();
    rooms = info.rooms;
    const backend = info.backend === 'koa' ? 'Koa' : 'Express';
    $('backend').textContent = info.shared ? `${backend} · Redis` : backend;
    $('footer-module').textContent = `wsgate/${info.backend}`;
    renderRooms();
  } catch {
    // offline: keep the last list
  }
}

function setRoomCount(room, count) {
  const entry = rooms.find((r) => r.room === room);
  if (entry) entry.count = count;
  else rooms.push({ room, count });
  renderRooms();
}

function renderRooms() {
  const active = current?.room ?? $('join-room').value;
  const list = [...rooms];
  if (current && !list.some((r) => r.room === current.room))
    list.push({ room: current.room, count: 1 });
  $('rooms').replaceChildren(
    ...list.map(({ room, count }) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `room${room === active ? ' active' : ''}`;
      button.dataset.room = room;
      const label = document.createElement('span');
      label.className = 'room-label';
      label.textContent = `# ${room}`;
      const badge = document.createElement('span');
      badge.className = `count${count > 0 ? '' : ' zero'}`;
      badge.textContent = String(count);
      badge.title = `${count} online`;
      button.append(label, badge);
      button.addEventListener('click', () => chooseRoom(room));
      li.append(button);
      return li;
    }),
  );
}

function chooseRoom(room) {
  if (current) {
    if (current.room !== room) connect(room, current.name);
  } else {
    $('join-room').value = room;
    renderRooms();
    $('name').focus();
  }
}

// ---- wiring ------------------------------------------------------------------------------

$('join').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  const room = slug($('join-room').value) || 'general';
  if (name) localStorage.setItem('wsgate-chat-name', name);
  connect(room, name);
});

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('text');
  const text = input.value.trim();
  if (!text || current?.ws.readyState !== WebSocket.OPEN) return;
  current.ws.send(JSON.stringify({ type: 'message', text }));
  input.value = '';
});

$('new-room').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = slug($('new-room-name').value);
  $('new-room-name').value = '';
  if (ROOM.test(room)) chooseRoom(room);
});

$('leave').addEventListener('click', () => {
  disconnect();
  setStatus('offline', 'Offline');
  showJoin();
  renderRooms();
});

$('banner-close').addEventListener('click', hideBanner);
$('join-room').addEventListener('input', renderRooms);

function slug(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 24);
}

const wanted = new URLSearchParams(location.search).get('room');
if (wanted && ROOM.test(wanted)) $('join-room').value = wanted;
$('name').value = localStorage.getItem('wsgate-chat-name') ?? '';
$('name').focus();
refreshRooms();
setInterval(refreshRooms, 5000);
