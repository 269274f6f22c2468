// Writes this browser's learner id into a cookie, so that a reload, a new tab or tomorrow's visit
// finds the same work. Streamlit reads it back with st.context.cookies when a session starts.
// data: {name, value, max_age}. Nothing is drawn; nothing is fetched.
export default function (component) {
  const { data } = component;
  if (!data || typeof data.name !== "string" || typeof data.value !== "string") return undefined;
  const parts = [
    `${data.name}=${encodeURIComponent(data.value)}`,
    "Path=/",
    `Max-Age=${Math.floor(Number(data.max_age) || 0)}`,
    "SameSite=Lax",
  ];
  if (window.location.protocol === "https:") parts.push("Secure");
  document.cookie = parts.join("; ");
  return undefined;
}
