// "Show request": what the console just sent, as curl, Python (google-cloud-speech) and Node
// (@google-cloud/speech) against this server. Only the endpoint differs from Google; the key,
// when the server wants one, is read from $HARK_API_KEY rather than shown.

/**
 * Snippets for `action`: {kind: "recognize"|"longrunning", config, file, uri?, keyed}.
 * Returns {curl, python, node}.
 */
export function snippets(action, origin) {
  return { curl: curl(action, origin), python: python(action, origin), node: node(action, origin) };
}

const snake = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function curl({ kind, config, file, uri, keyed }, origin) {
  const key = keyed ? ' \\\n  -H "x-goog-api-key: $HARK_API_KEY"' : "";
  const json = JSON.stringify(config);
  if (kind === "longrunning") {
    return [
      "# 1. Upload the file into the server's local bucket (what the console does for long files)",
      `curl -s -X POST -H "Content-Type: application/octet-stream"${key} \\`,
      `  --data-binary @${quote(file)} ${origin}/console/uploads`,
      `# -> {"uri": "${uri}", ...}`,
      "",
      "# 2. Start long-running recognition of that URI",
      `curl -s -X POST -H "Content-Type: application/json"${key} \\`,
      `  -d '{"config": ${json}, "audio": {"uri": "${uri}"}}' \\`,
      `  ${origin}/v1/speech:longrunningrecognize`,
      '# -> {"name": "NAME", ...}',
      "",
      "# 3. Poll until \"done\": true",
      `curl -s${key} ${origin}/v1/operations/NAME`,
    ].join("\n");
  }
  return [
    `printf '{"config": %s, "audio": {"content": "%s"}}' \\`,
    `  '${json}' "$(base64 -w0 ${quote(file)})" > request.json`,
    `curl -s -X POST -H "Content-Type: application/json"${key} \\`,
    `  --data @request.json ${origin}/v1/speech:recognize`,
  ].join("\n");
}

function python({ kind, config, file, uri, keyed }, origin) {
  const options = keyed
    ? `client_options={"api_endpoint": "${origin}", "api_key": os.environ["HARK_API_KEY"]},`
    : `credentials=AnonymousCredentials(),\n    client_options={"api_endpoint": "${origin}"},`;
  const fields = Object.entries(config).map(([name, value]) => {
    const literal = name === "encoding" ? `speech.RecognitionConfig.AudioEncoding.${value}` : pyLiteral(value);
    return `    ${snake(name)}=${literal},`;
  });
  const lines = [
    ...(keyed ? ["import os", ""] : []),
    ...(keyed ? [] : ["from google.auth.credentials import AnonymousCredentials"]),
    "from google.cloud import speech_v1 as speech",
    "",
    `client = speech.SpeechClient(\n    ${options}\n    transport="rest",\n)`,
    `config = speech.RecognitionConfig(\n${fields.join("\n")}\n)`,
  ];
  if (kind === "longrunning") {
    lines.push(
      `audio = speech.RecognitionAudio(uri="${uri}")`,
      "operation = client.long_running_recognize(config=config, audio=audio)",
      "response = operation.result(timeout=3600)",
    );
  } else {
    lines.push(
      `audio = speech.RecognitionAudio(content=open(${JSON.stringify(file)}, "rb").read())`,
      "response = client.recognize(config=config, audio=audio)",
    );
  }
  lines.push("for result in response.results:", "    print(result.alternatives[0].transcript)");
  return lines.join("\n");
}

function node({ kind, config, file, uri, keyed }, origin) {
  const url = new URL(origin);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const callOptions = keyed ? ", {otherArgs: {headers: {'x-goog-api-key': process.env.HARK_API_KEY}}}" : "";
  const lines = [
    "import speech from '@google-cloud/speech';",
    "import {PassThroughClient} from 'google-auth-library';",
    ...(kind === "longrunning" ? [] : ["import {readFileSync} from 'node:fs';"]),
    "",
    "const client = new speech.v1.SpeechClient({",
    `  apiEndpoint: '${url.hostname}', port: ${port}, fallback: 'rest', protocol: '${url.protocol.slice(0, -1)}',`,
    "  authClient: new PassThroughClient(),",
    "});",
    `const config = ${JSON.stringify(config, null, 2)};`,
  ];
  if (kind === "longrunning") {
    lines.push(
      `const [operation] = await client.longRunningRecognize({config, audio: {uri: '${uri}'}}${callOptions});`,
      "const [response] = await operation.promise();",
    );
  } else {
    lines.push(
      `const content = readFileSync(${JSON.stringify(file)}).toString('base64');`,
      `const [response] = await client.recognize({config, audio: {content}}${callOptions});`,
    );
  }
  lines.push("for (const result of response.results) console.log(result.alternatives[0].transcript);");
  return lines.join("\n");
}

function pyLiteral(value) {
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(", ")}]`;
  if (value && typeof value === "object") {
    const items = Object.entries(value).map(([k, v]) => `"${snake(k)}": ${pyLiteral(v)}`);
    return `{${items.join(", ")}}`;
  }
  return JSON.stringify(value);
}

function quote(name) {
  return /^[\w./-]+$/.test(name) ? name : `'${name.replace(/'/g, "'\\''")}'`;
}

/**
 * Snippets for a Live stream: {browser, python, node}. The browser code is what the page ran;
 * Python and Node stream a WebM Opus recording over gRPC, which listens on its own port
 * (50051 unless the server was started with --grpc-port; the page cannot ask which).
 */
export function streamingSnippets({ streaming, keyed }, origin) {
  return {
    browser: browserStream(streaming, keyed, origin),
    python: pythonStream(streaming, keyed, origin),
    node: nodeStream(streaming, keyed, origin),
  };
}

const GRPC_NOTE = "gRPC listens on its own port: 50051 unless Hark runs with --grpc-port.";

function browserStream(streaming, keyed, origin) {
  const url = `${origin.replace(/^http/, "ws")}/ws/v1/speech:streamingrecognize`;
  return [
    "// In a page served by this Hark (or by an --allowed-origin), as this console does:",
    `const ws = new WebSocket("${url}"${keyed ? ' + "?key=" + encodeURIComponent(KEY)' : ""});`,
    "const mic = await navigator.mediaDevices.getUserMedia({ audio: true });",
    'const recorder = new MediaRecorder(mic, { mimeType: "audio/webm;codecs=opus" });',
    "ws.onopen = () => {",
    `  ws.send(JSON.stringify(${JSON.stringify(streaming)}));`,
    "  recorder.ondataavailable = (e) => ws.send(e.data);",
    "  recorder.onstop = () => ws.send(new ArrayBuffer(0)); // the end of the audio",
    "  recorder.start(100);",
    "};",
    "ws.onmessage = (m) => console.log(JSON.parse(m.data)); // results, speechEventType, error",
    "// to finish: recorder.stop();",
  ].join("\n");
}

function pythonStream(streaming, keyed, origin) {
  const host = new URL(origin).hostname;
  const fields = Object.entries(streaming.config).map(([name, value]) => {
    const literal = name === "encoding" ? `speech.RecognitionConfig.AudioEncoding.${value}` : pyLiteral(value);
    return `        ${snake(name)}=${literal},`;
  });
  return [
    ...(keyed ? ["import os", ""] : []),
    "import grpc",
    "from google.cloud import speech_v1 as speech",
    "from google.cloud.speech_v1.services.speech import SpeechClient",
    "from google.cloud.speech_v1.services.speech.transports import SpeechGrpcTransport",
    "",
    `# ${GRPC_NOTE}`,
    `channel = grpc.insecure_channel("${host}:50051")`,
    "# The generated client: speech.SpeechClient's streaming helper drops `metadata` (the key).",
    "client = SpeechClient(transport=SpeechGrpcTransport(channel=channel))",
    "streaming_config = speech.StreamingRecognitionConfig(",
    `    config=speech.RecognitionConfig(\n${fields.join("\n")}\n    ),`,
    `    interim_results=${pyLiteral(streaming.interimResults)},`,
    `    enable_voice_activity_events=${pyLiteral(streaming.enableVoiceActivityEvents)},`,
    ")",
    "",
    "",
    'def requests(path="recording.webm"):  # WebM Opus, as the browser records it',
    "    yield speech.StreamingRecognizeRequest(streaming_config=streaming_config)",
    '    with open(path, "rb") as file:',
    "        while chunk := file.read(4000):",
    "            yield speech.StreamingRecognizeRequest(audio_content=chunk)",
    "",
    "",
    `responses = client.streaming_recognize(requests=requests()${keyed ? ', metadata=[("x-goog-api-key", os.environ["HARK_API_KEY"])]' : ""})`,
    "for response in responses:",
    "    for result in response.results:",
    '        print("final" if result.is_final else "interim", result.alternatives[0].transcript)',
  ].join("\n");
}

function nodeStream(streaming, keyed, origin) {
  const host = new URL(origin).hostname;
  const callOptions = keyed ? ", {otherArgs: {headers: {'x-goog-api-key': process.env.HARK_API_KEY}}}" : "";
  return [
    "import speech from '@google-cloud/speech';",
    "import grpc from '@grpc/grpc-js';",
    "import {createReadStream} from 'node:fs';",
    "",
    `// ${GRPC_NOTE}`,
    "const client = new speech.v1.SpeechClient({",
    `  apiEndpoint: '${host}', port: 50051, sslCreds: grpc.credentials.createInsecure(),`,
    "});",
    `const request = ${JSON.stringify(streaming, null, 2)};`,
    `const stream = client.streamingRecognize(request${callOptions})`,
    "  .on('error', console.error)",
    "  .on('data', (response) => {",
    "    for (const result of response.results) {",
    "      console.log(result.isFinal ? 'final' : 'interim', result.alternatives[0].transcript);",
    "    }",
    "  });",
    "// WebM Opus, as the browser records it, in messages under the 25 KB limit",
    "createReadStream('recording.webm', {highWaterMark: 4000}).pipe(stream);",
  ].join("\n");
}
