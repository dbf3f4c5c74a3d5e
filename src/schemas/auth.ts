import { z } from 'zod';
import { MIN_PASSWORD_LENGTH } from '../services/passwords.ts';

const email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email('enter an email address like name@example.com').max(254));
const newPassword = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `use at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1024, 'use at most 1024 characters');

export const signupInput = z.object({
  email,
  name: z.string().trim().min(1, 'enter your name').max(200, 'use at most 200 characters'),
  password: newPassword,
  invitation: z.string().max(200).optional(),
  next: z.string().max(2000).optional(),
});

export const loginInput = z.object({
  email: z.string().trim().toLowerCase().min(1, 'enter your email address').max(254),
  password: z.string().min(1, 'enter your password').max(1024),
  invitation: z.string().max(200).optional(),
  next: z.string().max(2000).optional(),
});

export const changePasswordInput = z.object({
  current_password: z.string().min(1, 'enter your current password'),
  new_password: newPassword,
});

export const unlinkIdentityInput = z.object({
  sub: z.string().min(1, 'name the identity to unlink').max(255),
});

/** What a user looks like in JSON; never any credential. */
export function userJson(user: {
  user_id: string;
  email: string | null;
  name: string | null;
  is_platform_admin: boolean;
  kind: string;
}) {
  return {
    user_id: user.user_id,
    email: user.email,
    name: user.name,
    kind: user.kind,
    is_platform_admin: user.is_platform_admin,
  };
}
