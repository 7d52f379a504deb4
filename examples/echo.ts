// Echoes the request body and a few request facts back as JSON.
export default {
  async fetch(request: Request): Promise<Response> {
    const body = await request.text();
    return Response.json({
      method: request.method,
      contentType: request.headers.get('content-type'),
      bytes: new TextEncoder().encode(body).byteLength,
      body,
    });
  },
};
