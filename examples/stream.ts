// Streams its response: each line is sent as soon as it is produced, so a large or slow body
// never has to sit in memory whole.
export default {
  fetch(request: Request): Response {
    const lines = Number(new URL(request.url).searchParams.get('lines') ?? '5');
    const encoder = new TextEncoder();
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i >= lines) return controller.close();
        await new Promise((resolve) => setTimeout(resolve, 10));
        controller.enqueue(encoder.encode(`line ${++i} of ${lines}\n`));
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  },
};
