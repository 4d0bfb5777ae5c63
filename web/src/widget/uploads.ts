// Sending an image: POST /v1/chat/uploads?conversation=<id> with the file as
// the body, then chat.send with the upload's id. The server judges the bytes
// (not the name) and the size; its refusals are told in the visitor's words.
import { ApiError, api } from '../lib/api.js';

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/** The upload's id. */
export async function uploadImage(conversation: string, file: Blob, credential: string | undefined): Promise<string> {
  if (!IMAGE_TYPES.includes(file.type)) throw new ApiError(415, 'unsupported_image_type', 'not a PNG, JPEG, GIF or WebP image');
  const r = await api<{ image: { id: string } }>(`/v1/chat/uploads?conversation=${encodeURIComponent(conversation)}`, {
    method: 'POST',
    body: file,
    contentType: file.type,
    credential,
  });
  return r.image.id;
}

export function uploadErrorText(e: unknown): string {
  if (!(e instanceof ApiError)) {
    // The server closes the connection on a refusal mid-upload: the browser may see only that.
    return 'The image could not be sent: the connection failed (it may be too large). Try a smaller image.';
  }
  switch (e.code) {
    case 'image_too_large':
    case 'payload_too_large':
      return 'This image is too large to send. Try a smaller one.';
    case 'not_an_image':
    case 'unsupported_image_type':
    case 'image_type_mismatch':
      return 'This file is not an image that can be sent: use a PNG, JPEG, GIF or WebP picture.';
    case 'conversation_resolved':
      return 'The conversation is resolved: send a message to reopen it, then the image.';
    case 'rate_limited':
      return 'Too many images at once: wait a moment and try again.';
    default:
      return `The image could not be sent: ${e.message}`;
  }
}
