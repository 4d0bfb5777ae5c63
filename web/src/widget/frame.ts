import { byId, h, replace } from '../lib/dom.js';

replace(byId('app'), h('p', null, 'chat'));
