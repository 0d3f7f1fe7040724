/** OpenAI's Responses API: POST /v1/responses, and the stored responses' routes. */
export { responsesApi } from './api.js';
export { deleteResponse, getResponse, listInputItems } from './stored.js';
