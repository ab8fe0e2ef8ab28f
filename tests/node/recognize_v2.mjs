// Google's Node.js Speech client (v2), unmodified, pointed at Hark over gRPC.
// Usage: node recognize_v2.mjs <host:port> <audio file> <recognizer id>
// Recognizes with the implicit recognizer `_`, then creates a recognizer whose defaults carry
// the language and decoding and recognizes with it, giving only a feature. Prints
// {"implicit": RecognizeResponse, "stored": RecognizeResponse, "recognizer": Recognizer} as
// JSON; an error as {"error": {code, details}} and exit 1.
import {readFileSync} from 'node:fs';
import speech from '@google-cloud/speech';
import grpc from '@grpc/grpc-js';

const [endpoint, file, recognizerId] = process.argv.slice(2);
const [host, port] = endpoint.split(':');
const client = new speech.v2.SpeechClient({
  apiEndpoint: host,
  port: Number(port),
  sslCreds: grpc.credentials.createInsecure(),
});
const parent = 'projects/hark-node/locations/global';
const content = readFileSync(file);

try {
  const [implicit] = await client.recognize({
    recognizer: `${parent}/recognizers/_`,
    config: {
      autoDecodingConfig: {},
      languageCodes: ['en-US'],
      model: 'long',
      features: {enableWordTimeOffsets: true, enableWordConfidence: true},
    },
    content,
  });
  const [operation] = await client.createRecognizer({
    parent,
    recognizerId,
    recognizer: {
      defaultRecognitionConfig: {
        autoDecodingConfig: {},
        languageCodes: ['en-US'],
        model: 'short',
        features: {enableWordTimeOffsets: true},
      },
    },
  });
  const [recognizer] = await operation.promise();
  const [stored] = await client.recognize({
    recognizer: recognizer.name,
    config: {features: {profanityFilter: true}},
    content,
  });
  console.log(JSON.stringify({implicit, stored, recognizer}));
} catch (error) {
  console.log(JSON.stringify({error: {code: error.code, details: error.details ?? error.message}}));
  process.exitCode = 1;
} finally {
  await client.close();
}
