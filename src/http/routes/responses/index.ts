/** OpenAI's Responses API: POST /v1/responses. */
export { responsesApi } from './api.js';
