// Google's Node.js Speech client, unmodified, pointed at Hark.
// Usage: node recognize.mjs <host:port> <audio file> [grpc|rest] [v1|v1p1beta1]
// Prints the RecognizeResponse as JSON on stdout; an error as {"error": {code, details}} and exit 1.
import {readFileSync} from 'node:fs';
import speech from '@google-cloud/speech';
import grpc from '@grpc/grpc-js';
import {PassThroughClient} from 'google-auth-library';

const [endpoint, file, transport = 'grpc', version = 'v1'] = process.argv.slice(2);
const [host, port] = endpoint.split(':');
const options = {apiEndpoint: host, port: Number(port)};
if (transport === 'rest') {
  // REST fallback over plain HTTP; PassThroughClient sends no credentials (an open Hark).
  Object.assign(options, {fallback: 'rest', protocol: 'http', authClient: new PassThroughClient()});
} else {
  options.sslCreds = grpc.credentials.createInsecure();
}
const client = new speech[version].SpeechClient(options);

try {
  const [response] = await client.recognize({
    config: {
      languageCode: 'en-US',
      enableWordTimeOffsets: true,
      enableWordConfidence: true,
      maxAlternatives: 2,
    },
    audio: {content: readFileSync(file).toString('base64')},
  });
  console.log(JSON.stringify(response));
} catch (error) {
  console.log(JSON.stringify({error: {code: error.code, details: error.details ?? error.message}}));
  process.exitCode = 1;
} finally {
  await client.close();
}
