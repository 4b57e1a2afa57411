/** The status page: the web helper's branch replaces this file. */
import type { FastifyInstance } from 'fastify';

export async function registerPage(app: FastifyInstance): Promise<void> {
  app.get('/', async (_req, reply) => reply.type('text/html').send('<!doctype html><title>ragsync</title><p>ragsync'));
}
