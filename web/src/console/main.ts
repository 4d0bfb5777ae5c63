import '../lib/base.css';
import { byId, h, replace } from '../lib/dom.js';

replace(byId('app'), h('main', null, h('h1', null, 'PMQ — agent console')));
