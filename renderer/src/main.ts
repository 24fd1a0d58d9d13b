import { createPinia } from 'pinia';
import { createApp } from 'vue';
// The global styles (theme tokens, reset, controls) come before the components' scoped styles.
import './styles.css';
import App from './App.vue';

createApp(App).use(createPinia()).mount('#app');
