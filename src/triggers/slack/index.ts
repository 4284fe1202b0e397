export { type AnswerDeps, answerEndedRuns } from './answers.ts';
export { type SlackClient, slackClient } from './client.ts';
export { type SlackAsk, type SlackDeps, slackRoutes } from './routes.ts';
export { signSlackRequest, verifySlackRequest } from './verify.ts';
export { SlackDeliveryWorker, type SlackWorkerDeps } from './worker.ts';
