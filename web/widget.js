/*
 * Backline chat widget: one script tag, no framework, no build step.
 *
 *   <script src="https://HOST/widget.js" data-clinic="demo" async></script>
 *
 * Options (data- attributes on the tag, or window.Backline.init({...})):
 *   data-clinic       clinic id (dialogs/clinics/<id>.json)                 clinic
 *   data-server       server origin, when not the script's own origin       server
 *   data-position     "right" (default) or "left"                           position
 *   data-color        accent colour (any CSS colour; darkened for contrast)  color
 *   data-title        the panel's title                                     title
 *   data-greeting     a first message from the clinic, above the welcome    greeting
 *   data-lang         language of the widget's own labels: en, fr, es       lang
 *   data-open-button  CSS selector of page elements that open the chat      openButton
 *   data-auto-init    "false": wait for Backline.init()                     (n/a)
 *
 * API: Backline.init(options), Backline.open(), Backline.close(), Backline.toggle(),
 *      Backline.isOpen(), Backline.destroy().
 *
 * Safety rule of this file: text from the server or the person is only ever put into the
 * page with textContent / createTextNode. Links come only from sources[].url when it is an
 * http(s) URL, and tel: links only from digits. There is no innerHTML anywhere.
 *
 * Written for the browsers that run shadow DOM (classes, const/let, arrow functions, template
 * literals) and served exactly as it is here: no transpiler, no bundler, no build step.
 */
(function () {
  'use strict';

  if (window.Backline && window.Backline.__loaded) return;

  const SCRIPT = document.currentScript || (function () {
    const all = document.querySelectorAll('script[src]');
    for (let i = all.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(all[i].src)) return all[i];
    }
    return null;
  })();

  const TEST_MODE = /[?&]test=1(&|$)/.test(location.search);
  const MAX_FRAME_BYTES = 4000;      // the server closes the socket past max_message_bytes (4096)
  const MAX_CHARS = 1000;
  const QUEUE_AUTO_SEND_MS = 120000; // queued longer than this while offline: marked "not sent"
  const UNREACHABLE_AFTER = 3;       // failed attempts before the status says "can't reach"
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 5000;       // after an outage, back within 5 s of the server
  const CONNECT_TIMEOUT_MS = 8000;
  const HISTORY_TIMEOUT_MS = 5000;
  const ACCESS_CHECK_EVERY_MS = 10000;   // at most one /ws/check per this, while connects fail
  const PHONE_QUERY = '(max-width: 480px)';   // the panel is full-screen (see the CSS)

  // ---------------------------------------------------------------------------------------
  // Strings of the widget itself (the replies come from the server).
  const STRINGS = {
    en: {
      title: 'Back pain questions',
      openChat: 'Open chat: {title}',
      closeChat: 'Close chat',
      subtitle: 'Information, not a diagnosis',
      disclaimer: 'Backline gives general information from {clinic}, not a diagnosis or medical advice. In an emergency, call {emergency}.',
      disclaimerNoNumber: 'Backline gives general information, not a diagnosis or medical advice. In an emergency, call your local emergency number.',
      inputLabel: 'Type your message',
      placeholder: 'Ask a question about back pain…',
      send: 'Send message',
      suggestions: 'Suggested replies',
      conversation: 'Conversation',
      you: 'You',
      assistant: 'Backline',
      typing: 'Backline is typing',
      sources: 'Sources',
      opensNewTab: '(opens in a new tab)',
      emergencyTitle: 'Emergency: call {number} now',
      emergencyCall: 'Call {number}',
      urgentTitle: 'Contact your care team today',
      urgentCall: 'Call your care team: {number}',
      urgentEmergency: 'If it gets worse, call {number}',
      tellThem: 'What to say when you call',
      connecting: 'Connecting…',
      reconnecting: 'Connection lost. Reconnecting in {s} s…',
      reconnectingNow: 'Connection lost. Reconnecting…',
      cantConnect: 'Can’t connect yet. Trying again in {s} s…',
      connectingAgain: 'Trying to connect…',
      unreachableEmergencyLocal: 'In an emergency, call your local emergency number.',
      newReply: 'new reply',
      unreachable: 'We can’t reach the assistant right now. Messages you type will be sent when the connection is back.',
      unreachableEmergency: 'In an emergency, call {number}.',
      retryNow: 'Retry now',
      refused: 'This chat is not set up for this website yet, so it cannot connect. (For the website’s owner: the browser console says what to change.)',
      online: 'Online',
      offline: 'Offline',
      queued: 'Waiting for connection…',
      sending: 'Sending…',
      notSent: 'Not sent.',
      retry: 'Retry',
      tooLong: 'This message is too long. Please shorten it.',
      rateLimited: 'Too many messages at once. Please wait a moment.',
      dailyLimit: 'This chat has reached its limit for today. If you need help now, call your care team, or your emergency number in an emergency.',
      sendFailed: 'Not sent: {reason}',
      restored: 'Earlier messages are shown from your saved conversation.',
      newConversation: 'This is a new conversation. Earlier messages could not be restored.',
      deleteChat: 'End and clear this conversation',
      deleteConfirm: 'End this conversation and clear it from this device and from the server? This cannot be undone.',
      deleteYes: 'End and clear',
      deleteNo: 'Cancel',
      deleted: 'Conversation ended and cleared.',
      helpful: 'Was this helpful?',
      helpfulYes: 'Yes, this helped',
      helpfulNo: 'No, this did not help',
      thanks: 'Thanks for your feedback.',
      says: 'Backline says: ',
      urgentSays: 'Urgent. ',
      emergencySays: 'Emergency. '
    },
    fr: {
      title: 'Questions sur le mal de dos',
      openChat: 'Ouvrir la discussion : {title}',
      closeChat: 'Fermer la discussion',
      subtitle: 'Information, pas un diagnostic',
      disclaimer: 'Backline donne des informations générales de {clinic}, pas un diagnostic ni un avis médical. En cas d’urgence, appelez le {emergency}.',
      disclaimerNoNumber: 'Backline donne des informations générales, pas un diagnostic. En cas d’urgence, appelez le numéro d’urgence local.',
      inputLabel: 'Votre message',
      placeholder: 'Posez votre question…',
      send: 'Envoyer le message',
      suggestions: 'Réponses suggérées',
      conversation: 'Conversation',
      you: 'Vous',
      assistant: 'Backline',
      typing: 'Backline écrit',
      sources: 'Sources',
      opensNewTab: '(s’ouvre dans un nouvel onglet)',
      emergencyTitle: 'Urgence : appelez le {number} maintenant',
      emergencyCall: 'Appeler le {number}',
      urgentTitle: 'Contactez votre équipe de soins aujourd’hui',
      urgentCall: 'Appeler l’équipe de soins : {number}',
      urgentEmergency: 'Si cela s’aggrave, appelez le {number}',
      tellThem: 'Ce qu’il faut dire au téléphone',
      connecting: 'Connexion…',
      reconnecting: 'Connexion perdue. Nouvel essai dans {s} s…',
      reconnectingNow: 'Connexion perdue. Reconnexion…',
      cantConnect: 'Connexion impossible pour l’instant. Nouvel essai dans {s} s…',
      connectingAgain: 'Tentative de connexion…',
      unreachableEmergencyLocal: 'En cas d’urgence, appelez le numéro d’urgence local.',
      newReply: 'nouvelle réponse',
      unreachable: 'L’assistant est injoignable pour le moment. Vos messages seront envoyés au retour de la connexion.',
      unreachableEmergency: 'En cas d’urgence, appelez le {number}.',
      retryNow: 'Réessayer',
      refused: 'Cette discussion n’est pas encore configurée pour ce site : elle ne peut pas se connecter. (Pour le propriétaire du site : la console du navigateur indique quoi changer.)',
      online: 'En ligne',
      offline: 'Hors ligne',
      queued: 'En attente de connexion…',
      sending: 'Envoi…',
      notSent: 'Non envoyé.',
      retry: 'Réessayer',
      tooLong: 'Ce message est trop long. Merci de le raccourcir.',
      rateLimited: 'Trop de messages à la fois. Patientez un instant.',
      dailyLimit: 'Ce chat a atteint sa limite pour aujourd’hui. Si vous avez besoin d’aide maintenant, appelez votre équipe soignante, ou le numéro d’urgence en cas d’urgence.',
      sendFailed: 'Non envoyé : {reason}',
      restored: 'Les messages précédents viennent de votre conversation enregistrée.',
      newConversation: 'Nouvelle conversation. Les messages précédents n’ont pas pu être restaurés.',
      deleteChat: 'Terminer et effacer cette conversation',
      deleteConfirm: 'Terminer cette conversation et l’effacer de cet appareil et du serveur ? C’est définitif.',
      deleteYes: 'Terminer et effacer',
      deleteNo: 'Annuler',
      deleted: 'Conversation terminée et effacée.',
      helpful: 'Cette réponse vous a-t-elle aidé ?',
      helpfulYes: 'Oui, cela m’a aidé',
      helpfulNo: 'Non, cela ne m’a pas aidé',
      thanks: 'Merci pour votre avis.',
      says: 'Backline : ',
      urgentSays: 'Urgent. ',
      emergencySays: 'Urgence. '
    },
    es: {
      title: 'Preguntas sobre el dolor de espalda',
      openChat: 'Abrir el chat: {title}',
      closeChat: 'Cerrar el chat',
      subtitle: 'Información, no un diagnóstico',
      disclaimer: 'Backline ofrece información general de {clinic}, no un diagnóstico ni consejo médico. En una emergencia, llame al {emergency}.',
      disclaimerNoNumber: 'Backline ofrece información general, no un diagnóstico. En una emergencia, llame al número de emergencias local.',
      inputLabel: 'Escriba su mensaje',
      placeholder: 'Escriba su pregunta…',
      send: 'Enviar mensaje',
      suggestions: 'Respuestas sugeridas',
      conversation: 'Conversación',
      you: 'Usted',
      assistant: 'Backline',
      typing: 'Backline está escribiendo',
      sources: 'Fuentes',
      opensNewTab: '(se abre en una pestaña nueva)',
      emergencyTitle: 'Emergencia: llame al {number} ahora',
      emergencyCall: 'Llamar al {number}',
      urgentTitle: 'Contacte hoy con su equipo de atención',
      urgentCall: 'Llamar al equipo: {number}',
      urgentEmergency: 'Si empeora, llame al {number}',
      tellThem: 'Qué decir al llamar',
      connecting: 'Conectando…',
      reconnecting: 'Conexión perdida. Reintentando en {s} s…',
      reconnectingNow: 'Conexión perdida. Reconectando…',
      cantConnect: 'Aún no se puede conectar. Reintentando en {s} s…',
      connectingAgain: 'Intentando conectar…',
      unreachableEmergencyLocal: 'En una emergencia, llame al número de emergencias local.',
      newReply: 'respuesta nueva',
      unreachable: 'No podemos contactar con el asistente ahora. Sus mensajes se enviarán cuando vuelva la conexión.',
      unreachableEmergency: 'En una emergencia, llame al {number}.',
      retryNow: 'Reintentar',
      refused: 'Este chat aún no está configurado para este sitio web y no puede conectarse. (Para el propietario del sitio: la consola del navegador indica qué cambiar.)',
      online: 'En línea',
      offline: 'Sin conexión',
      queued: 'Esperando conexión…',
      sending: 'Enviando…',
      notSent: 'No enviado.',
      retry: 'Reintentar',
      tooLong: 'Este mensaje es demasiado largo. Acórtelo, por favor.',
      rateLimited: 'Demasiados mensajes a la vez. Espere un momento.',
      dailyLimit: 'Este chat llegó a su límite de hoy. Si necesita ayuda ahora, llame a su equipo de atención, o al número de emergencias en una emergencia.',
      sendFailed: 'No enviado: {reason}',
      restored: 'Los mensajes anteriores vienen de su conversación guardada.',
      newConversation: 'Conversación nueva. No se pudieron recuperar los mensajes anteriores.',
      deleteChat: 'Terminar y borrar esta conversación',
      deleteConfirm: '¿Terminar esta conversación y borrarla de este dispositivo y del servidor? No se puede deshacer.',
      deleteYes: 'Terminar y borrar',
      deleteNo: 'Cancelar',
      deleted: 'Conversación terminada y borrada.',
      helpful: '¿Le ha sido útil?',
      helpfulYes: 'Sí, me ha ayudado',
      helpfulNo: 'No, no me ha ayudado',
      thanks: 'Gracias por su opinión.',
      says: 'Backline: ',
      urgentSays: 'Urgente. ',
      emergencySays: 'Emergencia. '
    }
  };

  // ---------------------------------------------------------------------------------------
  // Small helpers.
  function fmt(s, vars) {
    return s.replace(/\{(\w+)\}/g, (m, k) => {
      return vars && vars[k] != null ? String(vars[k]) : m;
    });
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === 'text') e.textContent = v;
        else if (k === 'class') e.className = v;
        else if (k === 'on') for (const ev in v) e.addEventListener(ev, v[ev]);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    if (children) append(e, children);
    return e;
  }

  function append(parent, children) {
    if (!Array.isArray(children)) children = [children];
    for (let i = 0; i < children.length; i++) {
      const c = children[i];
      if (c == null || c === false) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  const ICONS = {
    chat: ['M21 11.5a8.4 8.4 0 0 1-9 8.4 9 9 0 0 1-3.9-.9L3 20.5l1.5-4.6A8 8 0 0 1 3.6 11.5 8.5 8.5 0 0 1 12.3 3 8.5 8.5 0 0 1 21 11.5z'],
    close: ['M6 6l12 12', 'M18 6L6 18'],
    minimize: ['M6 9l6 6 6-6'],
    send: ['M4 12h14', 'M13 6l6 6-6 6'],
    phone: ['M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1.9.4 1.8.7 2.7a2 2 0 0 1-.5 2.1L8 9.8a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.7.7a2 2 0 0 1 1.7 2z'],
    alert: ['M10.3 3.9L1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z', 'M12 9v4', 'M12 17h.01'],
    info: ['M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20z', 'M12 16v-4', 'M12 8h.01'],
    trash: ['M3 6h18', 'M8 6V4h8v2', 'M19 6l-1 14H6L5 6'],
    up: ['M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.3a2 2 0 0 0 2-1.7l1.4-9a2 2 0 0 0-2-2.3z', 'M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3'],
    down: ['M10 15v4a3 3 0 0 0 3 3l4-9V2H5.7a2 2 0 0 0-2 1.7l-1.4 9a2 2 0 0 0 2 2.3z', 'M17 2h3a2 2 0 0 1 2 2v7a2 2 0 0 1-2 2h-3'],
    external: ['M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6', 'M15 3h6v6', 'M10 14L21 3'],
    book: ['M4 19.5A2.5 2.5 0 0 1 6.5 17H20', 'M6.5 2H20v20H6.5A2.5 2.5 0 0 1 4 19.5v-15A2.5 2.5 0 0 1 6.5 2z'],
    cloudOff: ['M1 1l22 22', 'M9 5.1A7 7 0 0 1 18.3 10h1.2a4.5 4.5 0 0 1 2.9 8', 'M5.6 5.6A7 7 0 0 0 6 19h12']
  };

  function icon(name, cls) {
    const s = document.createElementNS(SVG_NS, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    s.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
    const d = ICONS[name] || [];
    for (let i = 0; i < d.length; i++) {
      const p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d[i]);
      s.appendChild(p);
    }
    return s;
  }

  function telHref(number) {
    const digits = String(number).replace(/[^\d+]/g, '');
    return digits ? 'tel:' + digits : null;
  }

  function safeHttpUrl(u) {
    if (typeof u !== 'string') return null;
    try {
      const url = new URL(u);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function storage(kind) {
    try {
      const s = window[kind];
      const k = '__backline_probe__';
      s.setItem(k, '1');
      s.removeItem(k);
      return s;
    } catch (e) {
      const mem = {};
      return {
        getItem (k) { return Object.prototype.hasOwnProperty.call(mem, k) ? mem[k] : null; },
        setItem (k, v) { mem[k] = String(v); },
        removeItem (k) { delete mem[k]; }
      };
    }
  }

  function byteLength(s) {
    return new TextEncoder().encode(s).length;
  }

  // The accent colour as rgb, darkened until white text on it passes WCAG AA (4.5:1).
  // The probe goes into the widget's shadow root, where no rule of the host page applies (a
  // host rule such as `* { color: red !important }` would win over its inline style outside).
  function parseColor(c, parent) {
    const probe = document.createElement('span');
    probe.style.color = '';
    probe.style.color = c;
    if (!probe.style.color) return null;
    probe.style.display = 'none';
    parent.appendChild(probe);
    const rgb = getComputedStyle(probe).color;
    parent.removeChild(probe);
    const m = rgb.match(/rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/);
    return m ? [Math.round(+m[1]), Math.round(+m[2]), Math.round(+m[3])] : null;
  }
  function luminance(rgb) {
    const a = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
  }
  function contrast(a, b) {
    const la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  function accessibleAccent(c, parent) {
    let rgb = parseColor(c, parent) || [11, 92, 120];
    const white = [255, 255, 255];
    let guard = 0;
    while (contrast(rgb, white) < 4.7 && guard++ < 40) {
      rgb = rgb.map((v) => { return Math.max(0, Math.round(v * 0.92)); });
    }
    return rgb;
  }
  function rgbStr(rgb, alpha) {
    return alpha == null ? 'rgb(' + rgb.join(',') + ')' : 'rgba(' + rgb.join(',') + ',' + alpha + ')';
  }
  function mix(rgb, other, t) {
    return rgb.map((v, i) => { return Math.round(v * (1 - t) + other[i] * t); });
  }

  // Splits text into text nodes and tel: links for phone numbers. Only digits reach the href.
  function linkifyPhones(text, extraNumbers) {
    let parts = [];
    const words = (extraNumbers || []).filter(Boolean).map((n) => {
      return String(n).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    });
    const phone = '\\+?\\d{1,3}[ .-]\\(?\\d{3}\\)?[ .-]\\d{3}[ .-]\\d{4}' +
                '|\\(\\d{3}\\) ?\\d{3}-\\d{4}' +
                '|\\d{3}[ .-]\\d{3}[ .-]\\d{4}' +
                '|\\d{3}-\\d{4}';
    const alt = words.length ? phone + '|' + words.join('|') : phone;
    const re = new RegExp('(^|[^\\w.+-])(' + alt + ')(?![\\w-]|\\.\\d)', 'g');
    let last = 0, m;
    while ((m = re.exec(text))) {
      const start = m.index + m[1].length;
      if (start > last) parts = parts.concat(keepNumbersWhole(text.slice(last, start)));
      const href = telHref(m[2]);
      parts.push(href ? el('a', { href: href, class: 'tel', text: m[2] }) : el('span', { class: 'nowrap', text: m[2] }));
      last = start + m[2].length;
    }
    if (last < text.length) parts = parts.concat(keepNumbersWhole(text.slice(last)));
    return parts;
  }

  // Numbers written in groups (116 123, 01632 960 000, +44 20 7946 0000) in no-wrap spans, so
  // that a phone number is never split across two lines. Runs of fewer than 5 digits (10-15,
  // 2 500) stay as they are.
  function keepNumbersWhole(text) {
    const parts = [];
    const re = /(^|[^\w+])(\+?\(?\d+\)?(?:[ \u00a0.-]\(?\d+\)?)+)(?![\w])/g;
    let last = 0, m;
    while ((m = re.exec(text))) {
      const digits = m[2].replace(/\D/g, '').length;
      if (digits < 5 || digits > 20) continue;
      const start = m.index + m[1].length;
      if (start > last) parts.push(document.createTextNode(text.slice(last, start)));
      parts.push(el('span', { class: 'nowrap', text: m[2] }));
      last = start + m[2].length;
    }
    if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
    return parts;
  }

  // The reply's text without the sentence `Tell them: "<tell>"` (straight or curly quotes),
  // for when <tell> is shown in its own box: the person reads it once. Only that sentence and
  // one space next to it go; the rest is the server's text as sent.
  function withoutTellThem(text, tell) {
    const q = tell.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = new RegExp('(^|\\s)Tell them:\\s*["\u201c]' + q + '["\u201d](?=\\s|$)');
    const m = re.exec(text);
    if (!m) return text;
    let start = m.index + m[1].length;
    let end = m.index + m[0].length;
    if (/[ \t]/.test(text.charAt(end))) end++;
    else if (start > 0 && /[ \t]/.test(text.charAt(start - 1))) start--;
    return text.slice(0, start) + text.slice(end);
  }

  // Text into paragraphs (blank lines) and line breaks, all through text nodes.
  function richText(text, numbers) {
    const frag = document.createDocumentFragment();
    const paras = String(text == null ? '' : text).split(/\n\s*\n/);
    for (let i = 0; i < paras.length; i++) {
      const p = el('p');
      const lines = paras[i].split('\n');
      for (let j = 0; j < lines.length; j++) {
        if (j) p.appendChild(el('br'));
        append(p, linkifyPhones(lines[j], numbers));
      }
      frag.appendChild(p);
    }
    return frag;
  }

  function firstPhone(text) {
    const m = String(text || '').match(/(?:\+?\d{1,3}[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])?\d{3}-\d{4}/);
    return m ? m[0] : null;
  }

  // ---------------------------------------------------------------------------------------
  // Styles (inside the shadow root only).
  const CSS = `
:host{all:initial !important;display:block !important;position:static !important}
.root{--accent:#0b5c78;--accent-ink:#fff;--accent-soft:#e6f0f3;--accent-strong:#084559;
  --ink:#1c2630;--ink-2:#4a5866;--line:#dde3e8;--bg:#f5f7f9;--card:#fff;
  --danger:#b42318;--danger-ink:#fff;--danger-soft:#fef3f2;--warn:#8a3b05;--warn-bg:#fff7e8;--warn-line:#e9a23b;
  --radius:16px;--shadow:0 12px 40px rgba(16,24,40,.18),0 2px 8px rgba(16,24,40,.08);
  font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif;
  font-size:15px;line-height:1.5;color:var(--ink);letter-spacing:normal;word-spacing:normal;text-align:left;
  text-transform:none;font-weight:400;font-style:normal;-webkit-font-smoothing:antialiased;direction:ltr}
.root *,.root *::before,.root *::after{box-sizing:border-box}
.root [hidden]{display:none !important}
.icon{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round;flex:none}
.sr-only{position:absolute !important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
button{font:inherit;color:inherit;margin:0;cursor:pointer}
:focus{outline:none}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
/* launcher */
.launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;border:0;
  background:var(--accent);color:var(--accent-ink);display:flex;align-items:center;justify-content:center;
  box-shadow:0 6px 20px rgba(16,24,40,.25);transition:transform .15s ease,background-color .15s ease}
.launcher:hover{background:var(--accent-strong);transform:translateY(-1px)}
.launcher:focus-visible{outline:3px solid var(--accent);outline-offset:3px;box-shadow:0 0 0 3px #fff,0 6px 20px rgba(16,24,40,.25)}
.launcher .icon{width:28px;height:28px}
.badge{position:absolute;top:2px;right:2px;width:14px;height:14px;border-radius:50%;background:#d92d20;border:2px solid #fff;display:none}
.root.unread .badge{display:block}
.launcher .icon-close{display:none}
.root.open .launcher .icon-chat{display:none}
.root.open .launcher .icon-close{display:block}
.root.left .launcher{right:auto;left:20px}
/* panel */
.panel{position:fixed;bottom:92px;right:20px;z-index:2147483000;width:392px;height:min(680px,calc(100vh - 116px));
  max-height:calc(100vh - 116px);background:var(--bg);border-radius:var(--radius);box-shadow:var(--shadow);
  display:flex;flex-direction:column;overflow:hidden;border:1px solid rgba(16,24,40,.08);
  transform-origin:bottom right;animation:bl-in .18s ease-out}
.root.left .panel{right:auto;left:20px;transform-origin:bottom left}
@keyframes bl-in{from{opacity:0;transform:translateY(8px) scale(.98)}to{opacity:1;transform:none}}
/* header */
.header{background:var(--accent);color:var(--accent-ink);padding:14px 10px 14px 16px;display:flex;align-items:center;gap:12px;flex:none}
.avatar{width:38px;height:38px;border-radius:50%;background:rgba(255,255,255,.16);display:flex;align-items:center;justify-content:center;flex:none}
.avatar .icon{width:22px;height:22px}
.titles{flex:1;min-width:0}
.title{margin:0;font-size:16px;font-weight:650;line-height:1.25;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:inherit}
.subtitle{margin:2px 0 0;font-size:12.5px;line-height:1.3;display:flex;align-items:center;gap:6px;opacity:.95;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.dot{width:8px;height:8px;border-radius:50%;background:#b8c4cc;flex:none;box-shadow:0 0 0 2px rgba(255,255,255,.25)}
.dot.online{background:#6ee7a8}
.dot.offline{background:#fbbf77}
.icon-btn{width:40px;height:40px;border-radius:10px;border:0;background:transparent;color:inherit;display:flex;align-items:center;justify-content:center;flex:none}
.icon-btn:hover{background:rgba(255,255,255,.16)}
.header .icon-btn:focus-visible{outline:3px solid #fff;outline-offset:-3px}
/* status and confirm bars */
.status{flex:none;display:flex;align-items:flex-start;gap:8px;padding:9px 12px 9px 14px;font-size:13px;line-height:1.4;
  background:#fff8eb;color:#6b3a07;border-bottom:1px solid #f2d6a8}
.status.bad{background:#fdf0ee;color:#8c1d13;border-bottom-color:#f4c7c1}
.status .icon{width:18px;height:18px;margin-top:1px}
.status-text{flex:1}
.status a{color:inherit;font-weight:650}
.link-btn{background:none;border:0;padding:0 2px;font-weight:650;text-decoration:underline;text-underline-offset:2px;color:inherit;white-space:nowrap}
.confirm{flex:none;padding:12px 14px;background:#fff;border-bottom:1px solid var(--line);font-size:14px}
.confirm p{margin:0 0 10px}
.confirm .row{display:flex;gap:8px}
.btn{border-radius:10px;padding:8px 14px;font-size:14px;font-weight:600;border:1px solid var(--line);background:#fff;color:var(--ink)}
.btn.danger{background:var(--danger);border-color:var(--danger);color:#fff}
/* log */
.log{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:16px 14px 8px;position:relative}
.notice{display:flex;gap:10px;align-items:flex-start;background:#fff;border:1px solid var(--line);border-radius:12px;
  padding:10px 12px;margin:0 0 14px;font-size:13px;line-height:1.45;color:var(--ink-2)}
.notice .icon{width:18px;height:18px;color:var(--accent);margin-top:1px}
.notice p{margin:0}
.notice a{color:var(--accent-strong);font-weight:650}
.divider{display:flex;align-items:center;gap:10px;margin:14px 0;font-size:12.5px;color:var(--ink-2);text-align:center}
.divider::before,.divider::after{content:"";flex:1;height:1px;background:var(--line)}
.msg{display:flex;flex-direction:column;margin:0 0 12px;max-width:100%}
.msg.user{align-items:flex-end}
.msg.bot{align-items:flex-start}
.who{font-size:12px;color:var(--ink-2);margin:0 4px 3px;font-weight:600}
.bubble{max-width:88%;padding:10px 14px;border-radius:16px;word-wrap:break-word;overflow-wrap:anywhere;white-space:normal}
.bubble p{margin:0}
.gap{height:6px}
.bubble p+p{margin-top:8px}
.bot .bubble{background:var(--card);color:var(--ink);border:1px solid var(--line);border-top-left-radius:6px}
.user .bubble{background:var(--accent);color:var(--accent-ink);border-top-right-radius:6px;white-space:pre-wrap}
.bubble a.tel{color:inherit;font-weight:650;text-decoration:underline;text-underline-offset:2px}
a[href^="tel:"],.nowrap{white-space:nowrap}
.bot .bubble a.tel{color:var(--accent-strong)}
.meta{font-size:12px;color:var(--ink-2);margin:4px 4px 0;display:flex;gap:8px;align-items:center}
.msg.failed .bubble{background:#fff;color:var(--ink);border:1px dashed #c4320a}
.msg.failed .meta{color:#a3290b;font-weight:600}
.msg.pending .bubble{opacity:.8}
.meta .link-btn{color:var(--accent-strong)}
/* sources */
.sources{max-width:88%;margin:6px 0 0;padding:8px 12px;border-radius:12px;background:var(--accent-soft);font-size:13px;line-height:1.4}
.sources h3{margin:0 0 4px;font-size:12px;font-weight:700;color:var(--ink-2);display:flex;align-items:center;gap:6px;text-transform:uppercase;letter-spacing:.04em}
.sources h3 .icon{width:14px;height:14px}
.sources ul{margin:0;padding:0;list-style:none}
.sources li{margin:3px 0}
.sources a{color:var(--accent-strong);text-decoration:underline;text-underline-offset:2px;font-weight:500}
.sources a .icon{width:12px;height:12px;vertical-align:-1px;margin-left:3px}
/* red flags */
.alert{max-width:92%;width:92%;border-radius:14px;padding:12px 14px;margin:0 0 6px}
.alert-head{display:flex;gap:10px;align-items:center;font-weight:700;font-size:15.5px;line-height:1.3;margin:0}
.alert-head .icon{width:22px;height:22px}
.alert .call{display:flex;align-items:center;justify-content:center;gap:8px;margin-top:10px;padding:11px 14px;border-radius:10px;
  font-weight:700;font-size:16px;text-decoration:none}
.alert .call .icon{width:18px;height:18px}
.alert .secondary{display:block;margin-top:8px;font-size:13.5px;font-weight:600}
.emergency .alert{background:var(--danger);color:var(--danger-ink);box-shadow:0 4px 14px rgba(180,35,24,.3)}
.emergency .alert .call{background:#fff;color:var(--danger)}
.emergency .alert .call:focus-visible{outline:3px solid #fff;outline-offset:2px}
.emergency .bubble{border-color:#f1b4ad;border-left:4px solid var(--danger)}
.urgent .alert{background:var(--warn-bg);color:var(--warn);border:2px solid var(--warn-line)}
.urgent .alert .call{background:var(--warn);color:#fff}
.urgent .alert .secondary{color:var(--warn)}
.urgent .bubble{border-left:4px solid var(--warn-line)}
.redflag .bubble,.redflag .tell{width:92%;max-width:92%}
.tell{max-width:88%;margin:6px 0 0;padding:8px 12px;border-radius:12px;background:#fff;border:1px solid var(--line);font-size:13.5px}
.tell h3{margin:0 0 2px;font-size:12px;font-weight:700;color:var(--ink-2);text-transform:uppercase;letter-spacing:.04em}
.tell p{margin:0;font-style:italic}
/* feedback */
.feedback{display:flex;align-items:center;gap:2px;margin:4px 2px 0;font-size:12px;color:var(--ink-2)}
.feedback span{margin-right:4px}
.fb{width:32px;height:32px;border:0;border-radius:8px;background:transparent;color:var(--ink-2);display:flex;align-items:center;justify-content:center}
.fb:hover{background:#e9edf1;color:var(--ink)}
.fb .icon{width:16px;height:16px}
/* typing */
.typing{display:inline-flex;gap:5px;align-items:center;background:var(--card);border:1px solid var(--line);border-radius:16px;border-top-left-radius:6px;padding:13px 16px;margin:0 0 12px}
.typing i{width:7px;height:7px;border-radius:50%;background:#7b8794;display:block;animation:bl-blink 1.2s infinite ease-in-out}
.typing i:nth-child(2){animation-delay:.15s}
.typing i:nth-child(3){animation-delay:.3s}
@keyframes bl-blink{0%,80%,100%{opacity:.3;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}
/* quick replies and composer */
/* wrapped rows start at the same edge, 8 px apart each way, as in a chip group */
.quick{flex:none;display:flex;flex-wrap:wrap;gap:8px;padding:4px 14px 10px;justify-content:flex-start;align-items:stretch;max-height:40%;overflow-y:auto}
.qr{border:1.5px solid var(--accent);background:#fff;color:var(--accent-strong);border-radius:18px;padding:7px 14px;font-size:14px;
  min-height:36px;max-width:100%;line-height:1.3;text-align:left;font-weight:550;transition:background-color .12s ease}
.qr:hover{background:var(--accent-soft)}
.qr:disabled{opacity:.55;cursor:default}
.composer{flex:none;display:flex;align-items:flex-end;gap:8px;padding:10px 12px 12px;background:#fff;border-top:1px solid var(--line)}
.input{flex:1;resize:none;border:1.5px solid #aab4be;border-radius:12px;padding:10px 12px;font:inherit;font-size:15px;line-height:1.4;
  color:var(--ink);background:#fff;max-height:120px;min-height:44px;overflow-y:auto}
.input::placeholder{color:#68737d;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.input:focus{border-color:var(--accent);outline:none;box-shadow:0 0 0 3px var(--accent-ring)}
.sendbtn{width:44px;height:44px;border-radius:12px;border:0;background:var(--accent);color:var(--accent-ink);display:flex;align-items:center;justify-content:center;flex:none}
.sendbtn:hover{background:var(--accent-strong)}
.sendbtn:disabled{background:#c9d1d8;color:#4a5866;cursor:default}
.foot{flex:none;background:#fff;text-align:center;font-size:11.5px;color:#5f6b76;padding:0 12px 8px}
/* phones: full screen */
@media (max-width:480px){
  .panel,.root.left .panel{inset:0;top:0;left:0;right:0;bottom:0;width:100%;height:100%;max-height:none;border-radius:0;border:0;animation-name:bl-up}
  .root.open .launcher{display:none}
  .header{padding-top:max(14px,env(safe-area-inset-top))}
  .composer{padding-bottom:max(12px,env(safe-area-inset-bottom))}
  .bubble,.sources,.tell{max-width:92%}
  .input{font-size:16px}
}
@keyframes bl-up{from{opacity:0;transform:translateY(24px)}to{opacity:1;transform:none}}
@media (prefers-reduced-motion:reduce){
  .root *,.root *::before,.root *::after{animation:none !important;transition:none !important;scroll-behavior:auto !important}
  .typing i{opacity:.7}
}
@media (forced-colors:active){.bubble,.alert,.qr,.launcher,.sendbtn{border:1px solid CanvasText}}`;

  // ---------------------------------------------------------------------------------------
  // Configuration.
  function optionsFromScript(s) {
    if (!s) return {};
    const d = s.dataset || {};
    return {
      clinic: d.clinic,
      server: d.server,
      position: d.position,
      color: d.color,
      title: d.title,
      greeting: d.greeting,
      lang: d.lang,
      openButton: d.openButton
    };
  }

  function serverOrigin(opts) {
    const base = opts.server || (SCRIPT && SCRIPT.src) || location.href;
    try {
      return new URL(base, location.href).origin;
    } catch (e) {
      return location.origin;
    }
  }

  function normalise(o) {
    let lang = String(o.lang || document.documentElement.lang || 'en').toLowerCase().slice(0, 2);
    if (!STRINGS[lang]) lang = 'en';
    return {
      clinic: String(o.clinic || 'default'),
      server: serverOrigin(o),
      position: o.position === 'left' ? 'left' : 'right',
      color: o.color || '#0b5c78',
      title: o.title || '',
      greeting: o.greeting || '',
      lang: lang,
      openButton: o.openButton || ''
    };
  }

  // A three-digit emergency number named in a reply ("call 911"), when the clinic gave none.
  // A session id as the server gives them.
  const SESSION_ID = /^[0-9a-f]{32}$/;

  // A history turn as the reply frame it was: the server sends every part the live reply had
  // (quick replies, sources, tell_them, red_flag, ...) with the turn, its text as "reply".
  function replyFromTurn(turn, seq) {
    const frame = {};
    for (const k of Object.keys(turn)) {
      if (k !== 'text' && k !== 'reply' && k !== 'at') frame[k] = turn[k];
    }
    frame.type = 'reply';
    frame.seq = seq;
    frame.text = String(turn.reply == null ? '' : turn.reply);
    return frame;
  }

  function firstPhoneWord(text) {
    const m = String(text || '').match(/\bcall (\d{3})\b/i);
    return m ? m[1] : null;
  }

  // ---------------------------------------------------------------------------------------
  // The widget.
  class Widget {
    constructor(options) {
      this.o = normalise(options);
      this.t = STRINGS[this.o.lang];
      this.local = storage('localStorage');
      this.sessionStore = storage('sessionStorage');
      this.sessionKey = 'backline.session.' + this.o.clinic;
      this.openKey = 'backline.open.' + this.o.clinic;
      this.ws = null;
      this.connected = false;     // socket open and the welcome handled
      this.ready = false;         // history reconciled: queued messages may go
      this.attempt = 0;
      this.retryTimer = null;
      this.countdownTimer = null;
      this.historyTimer = null;
      this.connectTimer = null;
      this.clinic = null;         // from the welcome
      this.welcome = null;
      this.items = [];            // the conversation model
      this.outbox = [];           // user items waiting for a connection
      this.inflight = [];         // user items sent, reply not yet received
      this.frames = {};           // reply frames by seq (live, or rebuilt from the history)
      this.sessionId = null;      // the conversation's key, from the welcome
      this.skipWelcome = false;   // a resume was sent: the connect welcome is not ours to show
      this.pendingDeleteId = null;   // ended and cleared while offline: deleted on reconnecting
      this.lastSeq = 0;
      this.quickReplies = [];
      this.nextId = 1;
      this.isOpen = false;
      this.destroyed = false;
      this.build();
      this.bindPage();
      if (this.sessionStore.getItem(this.openKey) === '1') this.open({ focus: false });
    }

    s(key, vars) {
      return fmt(this.t[key] || STRINGS.en[key] || key, vars);
    }

    titleText() {
      return this.o.title || this.s('title');
    }

    // ---- the conversation's key -----------------------------------------------------------
    // The session id is the only key to a conversation. It is kept in sessionStorage (this tab
    // only: closing the tab ends the conversation on this device) unless the clinic asks for
    // longer (remember_conversation_hours in its file, sent in the welcome): then it is also
    // kept in localStorage, as {"id", "until"}, until that many hours after the last reply.
    readSession() {
      const sid = this.sessionStore.getItem(this.sessionKey);
      if (sid && SESSION_ID.test(sid)) return sid;
      const raw = this.local.getItem(this.sessionKey);
      if (raw === null) return null;
      let kept = null;
      try { kept = JSON.parse(raw); } catch (e) { /* an old widget's bare id, or junk */ }
      if (kept && typeof kept.id === 'string' && SESSION_ID.test(kept.id) && +kept.until > Date.now()) return kept.id;
      this.local.removeItem(this.sessionKey);
      return null;
    }

    saveSession(sid) {
      this.sessionId = sid;
      this.sessionStore.setItem(this.sessionKey, sid);
      const hours = this.clinic && +this.clinic.remember_conversation_hours;
      if (hours > 0) {
        this.local.setItem(this.sessionKey, JSON.stringify({ id: sid, until: Date.now() + hours * 3600e3 }));
      } else {
        this.local.removeItem(this.sessionKey);
      }
    }

    clearSession() {
      this.sessionId = null;
      this.sessionStore.removeItem(this.sessionKey);
      this.local.removeItem(this.sessionKey);
    }

    build() {
      this.host = document.createElement('backline-chat');
      this.host.setAttribute('data-clinic', this.o.clinic);
      this.shadow = this.host.attachShadow({ mode: 'open' });

      const styleHost = this.shadow;
      let sheetOk = false;
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        styleHost.adoptedStyleSheets = [sheet];
        sheetOk = true;
      } catch (e) { /* older browsers: a style element */ }
      if (!sheetOk) this.shadow.appendChild(el('style', { text: CSS }));
      // The host goes into the page first, still empty, so that the accent colour can be computed
      // inside its shadow root; the root is styled with it before it is shown (no transition).
      (document.body || document.documentElement).appendChild(this.host);
      const accent = accessibleAccent(this.o.color, this.shadow);

      const t = this.s.bind(this);
      this.root = el('div', { class: 'root ' + this.o.position, lang: this.o.lang, 'data-state': 'idle' });
      this.root.style.setProperty('--accent', rgbStr(accent));
      this.root.style.setProperty('--accent-strong', rgbStr(mix(accent, [0, 0, 0], 0.22)));
      this.root.style.setProperty('--accent-soft', rgbStr(mix(accent, [255, 255, 255], 0.9)));
      this.root.style.setProperty('--accent-ring', rgbStr(accent, 0.25));

      this.launcher = el('button', {
        class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'bl-panel',
        'aria-label': t('openChat', { title: this.titleText() }), 'data-part': 'launcher'
      }, [icon('chat', 'icon-chat'), icon('minimize', 'icon-close'), el('span', { class: 'badge', 'aria-hidden': 'true' })]);
      this.launcher.addEventListener('click', () => { this.toggle(); });

      // header
      this.titleEl = el('h2', { class: 'title', id: 'bl-title', text: this.titleText() });
      this.dot = el('span', { class: 'dot', 'aria-hidden': 'true' });
      this.subText = el('span', { id: 'bl-sub', text: t('subtitle') });
      this.connText = el('span', { class: 'sr-only', text: '' });
      this.deleteBtn = el('button', { class: 'icon-btn', type: 'button', 'aria-label': t('deleteChat'), title: t('deleteChat'), 'data-part': 'delete' }, icon('trash'));
      this.closeBtn = el('button', { class: 'icon-btn', type: 'button', 'aria-label': t('closeChat'), title: t('closeChat'), 'data-part': 'close' }, icon('close'));
      this.deleteBtn.addEventListener('click', () => { this.askDelete(); });
      this.closeBtn.addEventListener('click', () => { this.close(); });
      const header = el('div', { class: 'header' }, [
        el('div', { class: 'avatar', 'aria-hidden': 'true' }, icon('chat')),
        el('div', { class: 'titles' }, [this.titleEl, el('p', { class: 'subtitle' }, [this.dot, this.subText, this.connText])]),
        this.deleteBtn, this.closeBtn
      ]);

      // status line (connection) and delete confirmation
      this.statusIcon = el('span', { 'aria-hidden': 'true' });
      this.statusText = el('span', { class: 'status-text' });
      this.statusRetry = el('button', { class: 'link-btn', type: 'button', text: t('retryNow'), 'data-part': 'retry-now' });
      this.statusRetry.addEventListener('click', () => { this.retryNow(); });
      this.status = el('div', { class: 'status', 'data-part': 'status', hidden: true },
        [this.statusIcon, this.statusText, this.statusRetry]);
      this.statusLive = el('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });

      const yes = el('button', { class: 'btn danger', type: 'button', text: t('deleteYes'), 'data-part': 'delete-yes' });
      const no = el('button', { class: 'btn', type: 'button', text: t('deleteNo'), 'data-part': 'delete-no' });
      yes.addEventListener('click', () => { this.confirmDelete(true); });
      no.addEventListener('click', () => { this.confirmDelete(false); });
      this.confirm = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-labelledby': 'bl-confirm-q', 'data-part': 'delete-confirm' },
        [el('p', { id: 'bl-confirm-q', text: t('deleteConfirm') }), el('div', { class: 'row' }, [yes, no])]);
      this.confirmNo = no;

      // log, typing indicator
      this.log = el('div', { class: 'log', role: 'region', 'aria-label': t('conversation'), tabindex: '-1', 'data-part': 'log' });
      // Stay at the end of the conversation when the log shrinks (quick replies appear, a phone's
      // keyboard opens), unless the person scrolled up to read.
      this.atBottom = true;
      this.log.addEventListener('scroll', () => {
        const l = this.log;
        this.atBottom = l.scrollHeight - l.scrollTop - l.clientHeight < 24;
      }, { passive: true });
      if (window.ResizeObserver) {
        new ResizeObserver(() => { if (this.atBottom) this.scrollToEnd(); }).observe(this.log);
      }
      this.typing = el('div', { class: 'typing', 'data-part': 'typing', role: 'img', 'aria-label': t('typing'), hidden: true }, [el('i'), el('i'), el('i')]);

      // quick replies, composer
      this.quick = el('div', { class: 'quick', role: 'group', 'aria-label': t('suggestions'), 'data-part': 'quick-replies', hidden: true });
      this.input = el('textarea', {
        class: 'input', id: 'bl-input', rows: '1', maxlength: String(MAX_CHARS), placeholder: t('placeholder'),
        'aria-label': t('inputLabel'), autocomplete: 'off', 'data-part': 'input', enterkeyhint: 'send'
      });
      this.sendBtn = el('button', { class: 'sendbtn', type: 'submit', 'aria-label': t('send'), title: t('send'), 'data-part': 'send' }, icon('send'));
      this.form = el('form', { class: 'composer', 'aria-label': t('inputLabel') }, [
        el('label', { class: 'sr-only', for: 'bl-input', text: t('inputLabel') }), this.input, this.sendBtn
      ]);
      this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
      this.input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
      });
      this.input.addEventListener('input', () => { this.autosize(); });

      // announcements
      this.livePolite = el('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true', 'data-part': 'live' });
      this.liveAssertive = el('div', { class: 'sr-only', 'aria-live': 'assertive', 'aria-atomic': 'true', 'data-part': 'live-alert' });

      this.panel = el('section', {
        class: 'panel', id: 'bl-panel', role: 'dialog', 'aria-labelledby': 'bl-title', 'aria-describedby': 'bl-sub',
        'aria-modal': 'false', hidden: true, 'data-part': 'panel'
      }, [header, this.status, this.confirm, this.log, this.quick, this.form, this.statusLive, this.livePolite, this.liveAssertive]);
      this.panel.addEventListener('keydown', (e) => { this.onPanelKey(e); });

      append(this.root, [this.panel, this.launcher]);
      this.shadow.appendChild(this.root);   // the host is already in the page
      this.renderAll();
    }

    bindPage() {
      this.onDocClick = (e) => {
        if (!this.o.openButton || !e.target || !e.target.closest) return;
        let hit;
        try { hit = e.target.closest(this.o.openButton); } catch (err) { return; }
        if (hit) {
          e.preventDefault();
          this.opener = hit;
          this.open();
        }
      };
      this.onOnline = () => { this.reconnectNow(); };
      this.onVisible = () => { if (!document.hidden) this.reconnectNow(); };
      document.addEventListener('click', this.onDocClick);
      document.addEventListener('visibilitychange', this.onVisible);
      window.addEventListener('online', this.onOnline);
      // Full screen on a phone: a modal dialog, re-decided when the viewport crosses 480 px.
      this.onViewport = () => { this.updateModal(); };
      this.phoneQuery = window.matchMedia ? window.matchMedia(PHONE_QUERY) : null;
      if (this.phoneQuery) {
        if (this.phoneQuery.addEventListener) this.phoneQuery.addEventListener('change', this.onViewport);
        else if (this.phoneQuery.addListener) this.phoneQuery.addListener(this.onViewport);
      }
      if (this.o.openButton) {
        try {
          const btns = document.querySelectorAll(this.o.openButton);
          for (let i = 0; i < btns.length; i++) {
            btns[i].setAttribute('aria-haspopup', 'dialog');
          }
        } catch (e) { /* an invalid selector: nothing to wire */ }
      }
    }

    // ---- open / close ---------------------------------------------------------------------
    open(opts) {
      if (this.destroyed) return;
      const focus = !opts || opts.focus !== false;
      if (!this.isOpen) {
        this.isOpen = true;
        this.panel.hidden = false;
        this.root.classList.add('open');
        this.launcher.setAttribute('aria-expanded', 'true');
        this.launcher.setAttribute('aria-label', this.s('closeChat'));
        this.sessionStore.setItem(this.openKey, '1');
        this.root.classList.remove('unread');
        this.scrollToEnd(true);
      }
      this.want();
      if (focus) {
        const input = this.input;
        // after the panel is laid out
        requestAnimationFrame(() => { input.focus(); });
        input.focus();
      }
      this.updateModal();   // after focus has left the page, which may become inert
    }

    isPhone() {
      return !!(this.phoneQuery && this.phoneQuery.matches);
    }

    // On a phone the open panel covers the page: it is a modal dialog (aria-modal), and the rest
    // of the page is inert and hidden from screen readers until it closes. Only what the widget
    // made inert is restored; the page's own inert or aria-hidden elements are left alone.
    updateModal() {
      const modal = this.isOpen && !this.destroyed && this.isPhone();
      this.panel.setAttribute('aria-modal', modal ? 'true' : 'false');
      if (modal) this.hidePage(); else this.showPage();
    }

    hidePage() {
      if (this.hiddenPage) return;
      this.hiddenPage = [];
      const parent = this.host.parentNode;
      for (let c = parent && parent.firstElementChild; c; c = c.nextElementSibling) {
        if (c === this.host || /^(SCRIPT|STYLE|LINK|META|TEMPLATE|HEAD)$/.test(c.tagName)) continue;
        if (c.inert || c.getAttribute('aria-hidden') === 'true') continue;
        c.inert = true;
        c.setAttribute('aria-hidden', 'true');
        this.hiddenPage.push(c);
      }
    }

    showPage() {
      const list = this.hiddenPage || [];
      this.hiddenPage = null;
      for (let i = 0; i < list.length; i++) {
        list[i].inert = false;
        list[i].removeAttribute('aria-hidden');
      }
    }

    close() {
      if (!this.isOpen) return;
      const hadFocus = this.shadow.activeElement && this.panel.contains(this.shadow.activeElement);
      this.isOpen = false;
      this.panel.hidden = true;
      this.confirm.hidden = true;
      this.root.classList.remove('open');
      this.launcher.setAttribute('aria-expanded', 'false');
      this.launcher.setAttribute('aria-label', this.s('openChat', { title: this.titleText() }));
      this.sessionStore.setItem(this.openKey, '0');
      this.updateModal();   // the page is back before focus returns to it
      if (hadFocus || document.activeElement === this.host || document.activeElement === document.body) {
        const back = this.opener && document.contains(this.opener) && this.opener.offsetParent !== null ? this.opener : this.launcher;
        this.opener = null;
        back.focus();
      }
    }

    setUnread(on) {
      this.root.classList.toggle('unread', !!on);
      const label = this.s('openChat', { title: this.titleText() });
      if (!this.isOpen) this.launcher.setAttribute('aria-label', on ? label + ' (' + this.s('newReply') + ')' : label);
    }

    toggle() {
      if (this.isOpen) this.close(); else { this.opener = null; this.open(); }
    }

    onPanelKey(e) {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        if (!this.confirm.hidden) return this.confirmDelete(false);
        this.close();   // focus goes back to what opened the panel: the page's button or the launcher
        return;
      }
      // Full screen (narrow): keep Tab inside the panel, as in a modal dialog.
      if (e.key === 'Tab' && this.isPhone()) {
        const f = this.focusables();
        if (!f.length) return;
        const active = this.shadow.activeElement;
        if (e.shiftKey && active === f[0]) { e.preventDefault(); f[f.length - 1].focus(); }
        else if (!e.shiftKey && active === f[f.length - 1]) { e.preventDefault(); f[0].focus(); }
      }
    }

    focusables() {
      const all = this.panel.querySelectorAll('button, a[href], textarea, [tabindex="0"]');
      const out = [];
      for (let i = 0; i < all.length; i++) {
        if (!all[i].disabled && all[i].getClientRects().length) out.push(all[i]);
      }
      return out;
    }

    autosize() {
      this.input.style.height = 'auto';
      this.input.style.height = Math.min(this.input.scrollHeight + 3, 120) + 'px';
    }

    // ---- connection -----------------------------------------------------------------------
    want() {
      if (this.refused) return this.failQueued();
      if (!this.ws && !this.retryTimer) this.connect();
    }

    // A connection is needed while the panel is open on a visible page, or messages wait.
    needed() {
      return !this.destroyed && !this.refused &&
        (this.outbox.length > 0 || this.inflight.length > 0 || (this.isOpen && !document.hidden));
    }

    wsUrl() {
      const u = new URL('/ws', this.o.server);
      u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
      u.searchParams.set('clinic', this.o.clinic);
      return u.href;   // never the session id: it goes in the first frame (onopen)
    }

    connect() {
      if (this.destroyed || this.ws || this.refused) return;
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      clearInterval(this.countdownTimer);
      if ((this.attempt === 0 && !this.everConnected) || this.quiet) this.setStatus('connecting');
      else if (this.attempt < UNREACHABLE_AFTER) this.setStatus('reconnecting-now');
      this.quiet = false;
      let ws;
      try {
        ws = new WebSocket(this.wsUrl());
      } catch (e) {
        return this.scheduleReconnect();
      }
      this.ws = ws;
      this.connectTimer = setTimeout(() => {
        if (this.ws === ws && !this.connected) ws.close();
      }, CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        if (this.ws !== ws) return;
        // Resume by the first frame, so that the key stays out of URLs and proxies' logs. The
        // server has sent (or is sending) a welcome for a new conversation first: skipped.
        const sid = this.pendingDeleteId || this.readSession();
        this.skipWelcome = !!sid && this.send({ type: 'resume', session: sid });
      };
      ws.onmessage = (ev) => {
        if (this.ws !== ws) return;
        let frame;
        try { frame = JSON.parse(ev.data); } catch (e) { return; }
        if (frame && typeof frame === 'object') this.handleFrame(frame);
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        this.onDrop(ev.code);
      };
      ws.onerror = () => { /* onclose follows */ };
    }

    onDrop(code) {
      clearTimeout(this.connectTimer);
      clearTimeout(this.historyTimer);
      this.ws = null;
      const was = this.connected;
      this.connected = false;
      this.ready = false;
      this.setTyping(false);
      if (this.destroyed) return;
      // Messages sent but not answered: reconciled with the history after the resume.
      if (this.inflight.length) {
        for (let i = 0; i < this.inflight.length; i++) this.inflight[i].status = 'queued';
        this.renderItemsState();
      }
      // Nobody is looking and nothing waits (closed panel, hidden tab, the server's idle
      // timeout): reconnect on the next open, send or return to the tab.
      if (!this.needed()) { this.setStatus('idle'); return; }
      // Closed before any welcome: maybe refused (a foreign origin, an unknown clinic) rather
      // than unreachable. The browser hides the upgrade's status, so ask the server.
      if (!was) this.checkAccess();
      this.scheduleReconnect(was ? code : 0);
    }

    // GET /ws/check?clinic=ID (README, "The chat protocol"): the server says whether it would
    // let this page's connection in and, if not, why. A failed fetch (an outage) changes
    // nothing: the reconnects go on.
    checkAccess() {
      const now = Date.now();
      if (this.refused || typeof fetch !== 'function' || now - (this.lastAccessCheck || 0) < ACCESS_CHECK_EVERY_MS) return;
      this.lastAccessCheck = now;
      const u = new URL('/ws/check', this.o.server);
      u.searchParams.set('clinic', this.o.clinic);
      fetch(u.href, { mode: 'cors', credentials: 'omit', cache: 'no-store' })
        .then((res) => (res.ok ? res.json() : null))
        .then((info) => {
          if (info && info.ok === false && (info.code === 'origin_not_allowed' || info.code === 'unknown_clinic')) {
            this.refuse(info);
          }
        })
        .catch(() => { /* unreachable: keep retrying */ });
    }

    // The server refuses this page: a configuration problem, not an outage. Retrying cannot
    // help, so the widget stops, says so in the panel, and tells the page's owner in the
    // console what to change. Backline.init() (or a reload, once fixed) starts again.
    refuse(info) {
      if (this.destroyed || this.connected || this.refused) return;
      this.refused = info;
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      clearTimeout(this.connectTimer);
      if (this.ws) {
        const ws = this.ws;
        this.ws = null;
        try { ws.close(); } catch (e) { /* closed */ }
      }
      const detail = typeof info.message === 'string' && info.message ? info.message :
        'this page (' + location.origin + ') may not use the chat of clinic "' + this.o.clinic + '"';
      console.error('Backline: the chat server ' + this.o.server + ' refused this page (' + String(info.code) + '): ' + detail);
      this.failQueued();
      this.setStatus('refused');
    }

    // Marks every waiting message "Not sent" (a refused page can send nothing).
    failQueued() {
      for (const it of this.outbox) {
        it.status = 'failed';
        it.reason = '';
        this.renderItemState(it);
      }
      this.outbox = [];
    }

    scheduleReconnect(code) {
      this.ws = null;
      this.attempt++;
      // A clean close (the server going away or closing an idle connection): one quick, quiet try.
      const quiet = (code === 1000 || code === 1001) && this.attempt === 1;
      let cap = quiet ? 300 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, this.attempt - 1));
      if (code === 1008 || code === 1013) cap = Math.max(cap, 5000);
      const delay = Math.round(cap / 2 + Math.random() * cap / 2);   // "equal jitter"
      const due = Date.now() + delay;
      this.quiet = quiet;
      this.setStatus(quiet ? 'connecting' : this.attempt >= UNREACHABLE_AFTER ? 'unreachable' : 'reconnecting', due);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.needed()) this.connect(); else this.setStatus('idle');
      }, delay);
      this.expireQueued();
    }

    // The network is back or the page is visible again: try at once rather than wait out the
    // backoff, and drop an attempt that has not got through yet (begun on a network that has
    // gone, it could hang until CONNECT_TIMEOUT_MS).
    reconnectNow() {
      if (this.destroyed || this.connected || !this.needed()) return;
      if (this.ws) {
        const ws = this.ws;
        this.ws = null;   // its handlers check this, so it is ignored from now on
        clearTimeout(this.connectTimer);
        try { ws.close(); } catch (e) { /* closed */ }
      }
      this.retryNow();
    }

    retryNow() {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      if (!this.ws) this.connect();
    }

    setStatus(state, due) {
      const t = this.s.bind(this);
      clearInterval(this.countdownTimer);
      this.root.setAttribute('data-state', state);
      const online = state === 'online';
      this.dot.className = 'dot' + (online ? ' online' : state === 'idle' ? '' : ' offline');
      this.connText.textContent = online ? ' (' + t('online') + ')' : state === 'idle' ? '' : ' (' + t('offline') + ')';
      if (state === 'online' || state === 'idle') {
        clearTimeout(this.statusDelay);
        this.status.hidden = true;
        // Only a change is announced: a new welcome on a live connection (after "End and
        // clear") must not talk over what was just said.
        if (this.lastAnnouncedStatus && this.lastAnnouncedStatus !== 'connecting' && this.lastAnnouncedStatus !== 'online' && online) this.statusLive.textContent = t('online');
        this.lastAnnouncedStatus = state;
        return;
      }
      clearTimeout(this.statusDelay);
      this.status.hidden = false;
      if (state === 'connecting') {
        // a connection on a good network takes milliseconds: no flash of "Connecting…"
        const status = this.status;
        status.hidden = true;
        this.statusDelay = setTimeout(() => {
          if (this.root.getAttribute('data-state') === 'connecting') status.hidden = false;
        }, 800);
      }
      this.status.className = 'status' + (state === 'unreachable' || state === 'refused' ? ' bad' : '');
      this.statusIcon.textContent = '';
      this.statusIcon.appendChild(icon(state === 'connecting' ? 'info' : state === 'refused' ? 'alert' : 'cloudOff'));
      this.statusRetry.hidden = state === 'connecting' || state === 'reconnecting-now' || state === 'refused';
      this.statusText.textContent = '';
      const render = () => {
        this.statusText.textContent = '';
        if (state === 'connecting') {
          this.statusText.textContent = t('connecting');
        } else if (state === 'reconnecting-now') {
          this.statusText.textContent = t(this.everConnected ? 'reconnectingNow' : 'connectingAgain');
        } else if (state === 'reconnecting') {
          const s = Math.max(1, Math.ceil((due - Date.now()) / 1000));
          this.statusText.textContent = t(this.everConnected ? 'reconnecting' : 'cantConnect', { s: s }) + ' ';
        } else if (state === 'unreachable' || state === 'refused') {
          const num = this.clinic && this.clinic.emergency_number;
          append(this.statusText, t(state) + ' ');
          if (num) {
            const line = t('unreachableEmergency', { number: '\u0000' }).split('\u0000');
            append(this.statusText, [line[0], el('a', { href: telHref(num), text: num }), line[1] || '', ' ']);
          } else {
            append(this.statusText, t('unreachableEmergencyLocal') + ' ');
          }
        }
      };
      render();
      if (state === 'reconnecting') this.countdownTimer = setInterval(render, 1000);
      if (state !== this.lastAnnouncedStatus && state !== 'reconnecting-now') {
        this.statusLive.textContent = state === 'unreachable' || state === 'refused' ? t(state) :
          state === 'connecting' ? '' : t('reconnectingNow');
      }
      this.lastAnnouncedStatus = state;
    }

    // ---- frames from the server -----------------------------------------------------------
    handleFrame(f) {
      switch (f.type) {
        case 'welcome': return this.onWelcome(f);
        case 'reply': return this.onReply(f);
        case 'history': return this.onHistory(f);
        case 'error': return this.onError(f);
        case 'deleted': return this.onDeleted(f);
        case 'feedback_saved': case 'pong': return;
        default: return;
      }
    }

    onWelcome(f) {
      if (this.skipWelcome) { this.skipWelcome = false; return; }
      clearTimeout(this.connectTimer);
      const prevSession = this.sessionId || this.readSession();
      this.clinic = f.clinic && typeof f.clinic === 'object' ? f.clinic : this.clinic;
      if (this.pendingDeleteId) {
        // Ended and cleared while offline: delete it now; "deleted" and a new welcome follow.
        const doomed = this.pendingDeleteId;
        this.pendingDeleteId = null;
        if (f.resumed && f.session === doomed) {
          this.send({ type: 'delete' });
          return;
        }
      }
      if (typeof f.session === 'string' && SESSION_ID.test(f.session)) this.saveSession(f.session);
      this.connected = true;
      this.everConnected = true;
      this.attempt = 0;
      this.setStatus('online');
      const hadConversation = this.items.some((it) => {
        return it.type === 'bot' || (it.type === 'user' && it.status === 'sent');
      });
      this.welcome = f;

      if (f.resumed) {
        // Redraw from the server's record, then send what is waiting.
        this.ready = false;
        this.send({ type: 'history' });
        clearTimeout(this.historyTimer);
        this.historyTimer = setTimeout(() => { if (!this.ready) this.becomeReady(); }, HISTORY_TIMEOUT_MS);
        this.renderWelcomeOnly();
        return;
      }
      if (hadConversation && prevSession && prevSession !== f.session) {
        // The old conversation could not be resumed: keep it on screen, marked.
        this.items.push({ type: 'divider', text: this.s('newConversation') });
      } else if (!hadConversation) {
        this.items = [];   // only messages still waiting to go: kept below, after the welcome
      }
      this.frames = {};
      this.lastSeq = 0;
      // In-flight messages of the old session go again in the new one.
      this.outbox = this.inflight.concat(this.outbox);
      this.inflight = [];
      let userPending = this.outbox.filter((it) => { return it.status !== 'failed'; });
      const failed = this.items.filter((it) => { return it.type === 'user' && it.status === 'failed'; });
      this.items = this.items.filter((it) => { return !(it.type === 'user' && it.status !== 'sent'); });
      userPending = failed.concat(userPending);
      this.items.push({ type: 'welcome', frame: f });
      this.items = this.items.concat(userPending);
      this.setQuickReplies(userPending.length ? [] : f.quick_replies);
      this.renderAll();
      this.becomeReady();
    }

    renderWelcomeOnly() {
      const has = this.items.some((it) => { return it.type === 'welcome'; });
      if (!has) {
        this.items.unshift({ type: 'welcome', frame: this.welcome });
        this.renderAll();
      } else {
        this.renderNotice();
      }
    }

    onHistory(f) {
      clearTimeout(this.historyTimer);
      const turns = Array.isArray(f.turns) ? f.turns : [];
      const items = [{ type: 'welcome', frame: this.welcome }];
      const inflight = this.inflight.slice();
      const matched = [];
      for (let i = 0; i < turns.length; i++) {
        const turn = turns[i] || {};
        const seq = +turn.seq || 0;
        let userItem = null;
        if (seq > this.lastSeq && inflight.length && inflight[0].text === turn.text) {
          userItem = inflight.shift();
          matched.push(userItem);
        }
        if (!userItem) userItem = { type: 'user', id: this.nextId++, text: String(turn.text || '') };
        userItem.status = 'sent';
        userItem.seq = seq;
        items.push(userItem);
        const full = this.frames[seq];
        const frame = full && full.text === turn.reply ? full : replyFromTurn(turn, seq);
        this.frames[seq] = frame;
        items.push({ type: 'bot', frame: frame });
        if (seq > this.lastSeq) this.lastSeq = seq;
      }
      // Not on record: send again, in order, ahead of anything typed since.
      this.outbox = inflight.concat(this.outbox);
      this.inflight = [];
      for (let j = 0; j < this.outbox.length; j++) {
        if (this.outbox[j].status !== 'failed') this.outbox[j].status = 'queued';
      }
      const pendingUsers = this.items.filter((it) => {
        return it.type === 'user' && it.status !== 'sent' && matched.indexOf(it) < 0;
      });
      this.items = items.concat(pendingUsers);
      const last = turns.length ? this.frames[this.lastSeq] : this.welcome;
      this.setQuickReplies(pendingUsers.length ? [] : (last && last.quick_replies) || []);
      this.renderAll();
      this.becomeReady();
    }

    becomeReady() {
      this.ready = true;
      this.pump();
    }

    onReply(f) {
      if (this.sessionId) this.saveSession(this.sessionId);   // the clinic's hours count from now
      const item = this.inflight.shift();
      if (item) { item.status = 'sent'; item.seq = f.seq; }
      if (typeof f.seq === 'number') {
        this.frames[f.seq] = f;
        if (f.seq > this.lastSeq) this.lastSeq = f.seq;
      }
      const bot = { type: 'bot', frame: f };
      this.items.push(bot);
      this.setTyping(this.inflight.length > 0);
      if (item) this.renderItemState(item);
      // quick replies first: they change the log's height, and the scroll below depends on it
      this.setQuickReplies(this.inflight.length || this.outbox.length ? [] : f.quick_replies);
      this.appendItem(bot, true);
      this.announce(f);
      if (!this.isOpen) {
        // A red flag is never left behind a closed panel; anything else gets a badge.
        if (f.urgency === 'emergency' || f.urgency === 'urgent') this.open({ focus: false });
        else this.setUnread(true);
      }
    }

    onError(f) {
      const code = String(f.code || '');
      const perMessage = ['rate_limited', 'daily_limit', 'empty_message', 'too_long', 'bad_field', 'invalid_utf8',
        'invalid_json'];
      if (perMessage.indexOf(code) >= 0 && this.inflight.length) {
        const item = this.inflight.shift();
        item.status = 'failed';
        item.reason = code === 'rate_limited' ? this.s('rateLimited') : code === 'daily_limit' ? this.s('dailyLimit') :
          code === 'too_long' ? this.s('tooLong') :
          String(f.message || code);
        this.renderItemState(item);
        this.setTyping(this.inflight.length > 0);
        return;
      }
      if (!this.ready) {
        this.becomeReady();   // a history that could not be served: carry on with what is on screen
      }
    }

    // The conversation was ended and cleared: here (a new welcome follows), or in another tab
    // or on another device (the server then closes, and a new one starts on reconnecting).
    onDeleted() {
      this.clearSession();
      this.items = [];
      this.frames = {};
      this.lastSeq = 0;
      this.outbox = [];
      this.inflight = [];
      this.setQuickReplies([]);
      this.renderAll();
      this.statusLive.textContent = this.s('deleted');
      // the server follows with a new welcome
    }

    // ---- sending ----------------------------------------------------------------------------
    send(obj) {
      if (!this.ws || this.ws.readyState !== 1) return false;
      try {
        this.ws.send(JSON.stringify(obj));
        return true;
      } catch (e) {
        return false;
      }
    }

    submit() {
      const text = this.input.value.replace(/\s+$/, '');
      if (!text.trim()) return;
      if (byteLength(JSON.stringify({ type: 'message', text: text })) > MAX_FRAME_BYTES) {
        this.flashInputError(this.s('tooLong'));
        return;
      }
      this.input.value = '';
      this.autosize();
      this.sendText(text);
    }

    flashInputError(msg) {
      this.livePolite.textContent = msg;
      this.input.setAttribute('aria-invalid', 'true');
      const input = this.input;
      setTimeout(() => { input.removeAttribute('aria-invalid'); }, 3000);
    }

    sendText(text) {
      const item = { type: 'user', id: this.nextId++, text: text, status: 'queued', at: Date.now() };
      this.items.push(item);
      this.outbox.push(item);
      this.setQuickReplies([]);
      this.appendItem(item, true);
      this.want();
      this.pump();
    }

    pump() {
      if (!this.connected || !this.ready) return;
      while (this.outbox.length) {
        const item = this.outbox[0];
        if (item.status === 'failed') { this.outbox.shift(); continue; }
        if (!this.send({ type: 'message', text: item.text })) break;
        this.outbox.shift();
        item.status = 'sending';
        this.inflight.push(item);
        this.renderItemState(item);
      }
      this.setTyping(this.inflight.length > 0);
    }

    // Messages that waited too long offline are marked "not sent", with a retry button.
    expireQueued() {
      const now = Date.now();
      const keep = [];
      for (let i = 0; i < this.outbox.length; i++) {
        const it = this.outbox[i];
        if (now - (it.at || now) > QUEUE_AUTO_SEND_MS) {
          it.status = 'failed';
          it.reason = '';
          this.renderItemState(it);
        } else {
          keep.push(it);
        }
      }
      this.outbox = keep;
    }

    retryItem(item) {
      item.status = 'queued';
      item.reason = '';
      item.at = Date.now();
      // Move it to the end of the conversation, where a reply will appear.
      const idx = this.items.indexOf(item);
      if (idx >= 0) this.items.splice(idx, 1);
      this.items.push(item);
      if (item.node && item.node.parentNode) item.node.parentNode.removeChild(item.node);
      item.node = null;
      this.appendItem(item, true);
      this.outbox.push(item);
      this.want();
      if (!this.ws) this.retryNow();
      this.pump();
      this.input.focus();
    }

    askDelete() {
      this.confirm.hidden = false;
      this.confirmNo.focus();
    }

    confirmDelete(yes) {
      this.confirm.hidden = true;
      if (yes) {
        if (this.connected) {
          this.send({ type: 'delete' });
        } else {
          // Offline: cleared here at once (the key too), and deleted on the server as soon as
          // the widget reconnects.
          this.pendingDeleteId = this.sessionId || this.readSession();
          this.onDeleted();
          this.want();
        }
        this.input.focus();
      } else {
        this.deleteBtn.focus();
      }
    }

    // ---- rendering ------------------------------------------------------------------------
    renderAll() {
      const keepFocus = this.shadow.activeElement && this.log.contains(this.shadow.activeElement);
      this.log.textContent = '';
      this.noticeEl = el('div', { class: 'notice', 'data-part': 'disclaimer' });
      this.log.appendChild(this.noticeEl);
      this.renderNotice();
      for (let i = 0; i < this.items.length; i++) {
        this.items[i].node = null;
        this.appendItem(this.items[i], false);
      }
      this.log.appendChild(this.typing);
      this.scrollToEnd(true);
      if (keepFocus && this.isOpen) this.input.focus();
    }

    // Whether the welcome says both halves of the disclaimer card itself: information, not a
    // diagnosis, and the emergency number (as a tel: link). Then the card would repeat it.
    welcomeSaysDisclaimer(f) {
      const text = String((f && f.text) || '');
      const num = this.clinic && this.clinic.emergency_number;
      if (!/not a diagnosis/i.test(text) || !num || this.phoneWords().indexOf(num) < 0) return false;
      return new RegExp('(^|[^\\w.+-])' + num + '(?![\\w-]|\\.\\d)').test(text);
    }

    renderNotice() {
      const n = this.noticeEl;
      if (!n) return;
      n.textContent = '';
      let welcome = null;
      for (let i = 0; i < this.items.length; i++) if (this.items[i].type === 'welcome') welcome = this.items[i].frame;
      const covered = !!welcome && this.welcomeSaysDisclaimer(welcome);
      n.hidden = covered;
      if (covered) { n.removeAttribute('data-part'); return; }
      n.setAttribute('data-part', 'disclaimer');
      const num = this.clinic && this.clinic.emergency_number;
      const p = el('p');
      if (num) {
        const text = this.s('disclaimer', { clinic: (this.clinic && this.clinic.name) || 'your care team', emergency: '\u0000' });
        const parts = text.split('\u0000');
        append(p, [parts[0], el('a', { href: telHref(num), text: num, 'data-part': 'disclaimer-tel' }), parts[1] || '']);
      } else {
        p.textContent = this.s('disclaimerNoNumber');
      }
      append(n, [icon('info'), p]);
    }

    appendItem(item, live) {
      const node = this.renderItem(item);
      if (!node) return;
      item.node = node;
      if (this.typing.parentNode === this.log) this.log.insertBefore(node, this.typing);
      else this.log.appendChild(node);
      if (live) this.scrollTo(node, item.type === 'bot');
    }

    renderItem(item) {
      switch (item.type) {
        case 'welcome': return this.renderBot(item.frame, true);
        case 'bot': return this.renderBot(item.frame, false);
        case 'user': return this.renderUser(item);
        case 'divider': return el('div', { class: 'divider', role: 'separator', text: item.text });
        default: return null;
      }
    }

    renderUser(item) {
      const wrap = el('div', { class: 'msg user', 'data-part': 'user-message' });
      append(wrap, [
        el('span', { class: 'sr-only', text: this.s('you') + ': ' }),
        el('div', { class: 'bubble', text: item.text })
      ]);
      item.node = wrap;
      this.decorateUser(item, wrap);
      return wrap;
    }

    renderItemsState() {
      for (let i = 0; i < this.items.length; i++) {
        if (this.items[i].type === 'user') this.renderItemState(this.items[i]);
      }
    }

    renderItemState(item) {
      if (item.node) this.decorateUser(item, item.node);
    }

    decorateUser(item, wrap) {
      const old = wrap.querySelector('.meta');
      if (old) old.remove();
      wrap.classList.remove('pending', 'failed');
      wrap.removeAttribute('data-status');
      if (item.status === 'sent' || !item.status) return;
      wrap.setAttribute('data-status', item.status);
      const meta = el('div', { class: 'meta' });
      if (item.status === 'failed') {
        wrap.classList.add('failed');
        const retry = el('button', { class: 'link-btn', type: 'button', text: this.s('retry'), 'data-part': 'retry' });
        retry.addEventListener('click', () => { this.retryItem(item); });
        append(meta, [el('span', { text: item.reason ? this.s('sendFailed', { reason: item.reason }) : this.s('notSent') }), retry]);
      } else if (item.status === 'queued' && !this.connected) {
        wrap.classList.add('pending');
        meta.textContent = this.s('queued');
      } else {
        return;   // sending: the typing indicator says enough
      }
      wrap.appendChild(meta);
    }

    phoneWords() {
      const n = this.clinic && this.clinic.emergency_number;
      return n && /^\d{2,4}$/.test(n) ? [n] : [];
    }

    renderBot(f, isWelcome) {
      f = f || {};
      const urgency = f.urgency === 'emergency' || f.urgency === 'urgent' ? f.urgency : 'none';
      const wrap = el('div', {
        class: 'msg bot' + (urgency !== 'none' ? ' redflag ' + urgency : ''),
        'data-part': isWelcome ? 'welcome' : 'bot-message',
        'data-urgency': urgency
      });
      wrap.appendChild(el('span', { class: 'sr-only', text: this.s('assistant') + ': ' }));
      if (urgency !== 'none') wrap.appendChild(this.renderBanner(f, urgency));
      if (isWelcome && this.o.greeting) {
        wrap.appendChild(el('div', { class: 'bubble greeting', 'data-part': 'greeting', text: this.o.greeting }));
        wrap.appendChild(el('div', { class: 'gap', 'aria-hidden': 'true' }));
      }
      const tellBox = typeof f.tell_them === 'string' && f.tell_them && urgency !== 'none';
      const text = String(f.text == null ? '' : f.text);
      const bubble = el('div', { class: 'bubble' });
      bubble.appendChild(richText(tellBox ? withoutTellThem(text, f.tell_them) : text, this.phoneWords()));
      wrap.appendChild(bubble);
      if (isWelcome && this.welcomeSaysDisclaimer(f)) {
        // The welcome already says what the disclaimer card would (renderNotice hides the card).
        bubble.setAttribute('data-part', 'disclaimer');
        const num = this.clinic && this.clinic.emergency_number;
        const tel = num && bubble.querySelector('a[href="' + telHref(num) + '"]');
        if (tel) tel.setAttribute('data-part', 'disclaimer-tel');
      }

      if (tellBox) {
        wrap.appendChild(el('div', { class: 'tell', 'data-part': 'tell-them' }, [
          el('h3', { text: this.s('tellThem') }), el('p', { text: '\u201c' + f.tell_them + '\u201d' })
        ]));
      }

      const sources = Array.isArray(f.sources) ? f.sources : [];
      if (sources.length) {
        const ul = el('ul');
        for (let i = 0; i < sources.length; i++) {
          const s = sources[i] || {};
          const title = typeof s.title === 'string' && s.title ? s.title : (typeof s.url === 'string' ? s.url : '');
          if (!title) continue;
          const href = safeHttpUrl(s.url);
          const li = el('li');
          if (href) {
            li.appendChild(el('a', { href: href, target: '_blank', rel: 'noopener noreferrer' }, [
              title, el('span', { class: 'sr-only', text: ' ' + this.s('opensNewTab') }), icon('external')
            ]));
          } else {
            li.textContent = title;
          }
          ul.appendChild(li);
        }
        if (ul.childNodes.length) {
          wrap.appendChild(el('div', { class: 'sources', 'data-part': 'sources' }, [
            el('h3', {}, [icon('book'), this.s('sources')]), ul
          ]));
        }
      }

      if (!isWelcome && f.kind === 'answer' && typeof f.seq === 'number') {
        const fb = el('div', { class: 'feedback', 'data-part': 'feedback' });
        const label = el('span', { text: this.s('helpful') });
        const mk = (rating, name, aria) => {
          const b = el('button', { class: 'fb', type: 'button', 'aria-label': aria, title: aria }, icon(name));
          b.addEventListener('click', () => {
            this.send({ type: 'feedback', seq: f.seq, rating: rating });
            fb.textContent = '';
            fb.appendChild(el('span', { text: this.s('thanks') }));
            this.livePolite.textContent = this.s('thanks');
            this.input.focus();
          });
          return b;
        };
        append(fb, [label, mk(1, 'up', this.s('helpfulYes')), mk(-1, 'down', this.s('helpfulNo'))]);
        wrap.appendChild(fb);
      }
      return wrap;
    }

    renderBanner(f, urgency) {
      const emergency = (this.clinic && this.clinic.emergency_number) || firstPhoneWord(f.text) || '911';
      const box = el('div', { class: 'alert', 'data-part': 'red-flag-banner', 'data-urgency': urgency });
      if (urgency === 'emergency') {
        append(box, [
          el('p', { class: 'alert-head' }, [icon('alert'), this.s('emergencyTitle', { number: emergency })]),
          el('a', { class: 'call', href: telHref(emergency), 'data-part': 'call' }, [icon('phone'), this.s('emergencyCall', { number: emergency })])
        ]);
      } else {
        const team = (this.clinic && this.clinic.care_team_phone) || firstPhone(f.text);
        append(box, el('p', { class: 'alert-head' }, [icon('alert'), this.s('urgentTitle')]));
        if (team && telHref(team)) {
          box.appendChild(el('a', { class: 'call', href: telHref(team), 'data-part': 'call' }, [icon('phone'), this.s('urgentCall', { number: team })]));
        }
        const line = this.s('urgentEmergency', { number: '\u0000' }).split('\u0000');
        box.appendChild(el('span', { class: 'secondary' }, [line[0], el('a', { href: telHref(emergency), text: emergency }), line[1] || '']));
      }
      return box;
    }

    setQuickReplies(list) {
      this.quickReplies = Array.isArray(list) ? list.filter((q) => typeof q === 'string' && q.trim()).slice(0, 8) : [];
      const hadFocus = this.shadow.activeElement && this.quick.contains(this.shadow.activeElement);
      this.quick.textContent = '';
      for (const text of this.quickReplies) {
        const b = el('button', { class: 'qr', type: 'button', text, 'data-part': 'quick-reply' });
        b.addEventListener('click', () => {
          this.sendText(text);
          this.input.focus();
        });
        this.quick.appendChild(b);
      }
      const stick = this.atBottom;
      this.quick.hidden = this.quickReplies.length === 0;
      if (stick) this.scrollToEnd();
      if (hadFocus && this.isOpen) this.input.focus();
    }

    setTyping(on) {
      this.typing.hidden = !on;
      this.log.setAttribute('aria-busy', on ? 'true' : 'false');
      if (on) this.scrollToEnd(false);
    }

    announce(f) {
      const urgency = f.urgency;
      const region = urgency === 'emergency' || urgency === 'urgent' ? this.liveAssertive : this.livePolite;
      const prefix = urgency === 'emergency' ? this.s('emergencySays') : urgency === 'urgent' ? this.s('urgentSays') : '';
      const text = prefix + this.s('says') + String(f.text || '');
      region.textContent = '';
      // a fresh node each time, so the same text twice is announced twice
      setTimeout(() => { region.textContent = text; }, 50);
    }

    scrollToEnd(instant) {
      this.log.scrollTop = this.log.scrollHeight;
      this.atBottom = true;
    }

    // A long answer is shown from its start; anything else scrolls to the end.
    scrollTo(node, fromTop) {
      const log = this.log;
      if (fromTop && node.offsetHeight > log.clientHeight - 40) {
        log.scrollTop = node.offsetTop - 12;
        this.atBottom = false;
      } else {
        this.scrollToEnd();
      }
    }

    destroy() {
      this.destroyed = true;
      clearTimeout(this.retryTimer);
      clearTimeout(this.historyTimer);
      clearTimeout(this.connectTimer);
      clearInterval(this.countdownTimer);
      document.removeEventListener('click', this.onDocClick);
      window.removeEventListener('online', this.onOnline);
      document.removeEventListener('visibilitychange', this.onVisible);
      if (this.phoneQuery) {
        if (this.phoneQuery.removeEventListener) this.phoneQuery.removeEventListener('change', this.onViewport);
        else if (this.phoneQuery.removeListener) this.phoneQuery.removeListener(this.onViewport);
      }
      this.showPage();
      if (this.ws) { const ws = this.ws; this.ws = null; try { ws.close(1000); } catch (e) { /* closed */ } }
      if (this.host && this.host.parentNode) this.host.parentNode.removeChild(this.host);
    }
  }

  // ---------------------------------------------------------------------------------------
  // The public API.
  let instance = null;
  const scriptOptions = optionsFromScript(SCRIPT);

  function init(opts) {
    const merged = {};
    let k;
    for (k in scriptOptions) if (scriptOptions[k] != null) merged[k] = scriptOptions[k];
    if (opts) for (k in opts) if (opts[k] != null) merged[k] = opts[k];
    const start = () => {
      if (instance) instance.destroy();
      instance = new Widget(merged);
      return api;
    };
    if (document.body) return start();
    document.addEventListener('DOMContentLoaded', start, { once: true });
    return api;
  }

  const api = {
    __loaded: true,
    version: '1.0.0',
    init: init,
    open() { if (instance) instance.open(); },
    close() { if (instance) instance.close(); },
    toggle() { if (instance) instance.toggle(); },
    isOpen() { return !!(instance && instance.isOpen); },
    destroy() { if (instance) { instance.destroy(); instance = null; } }
  };
  if (TEST_MODE) {
    // Test hook, only on pages opened with ?test=1: feeds a frame through the same code as a
    // frame from the server.
    api._renderForTest = (frame) => { if (instance) instance.handleFrame(frame); };
  }
  window.Backline = api;

  const auto = SCRIPT && SCRIPT.dataset && SCRIPT.dataset.autoInit;
  if (auto !== 'false' && SCRIPT && SCRIPT.dataset && SCRIPT.dataset.clinic) init();
})();
