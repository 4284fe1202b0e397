import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { session, whenUnauthorized } from './api.ts';
import { AuditPage } from './pages/audit.tsx';
import { AutomationsPage } from './pages/automations.tsx';
import { FleetPage, FleetsPage } from './pages/fleets.tsx';
import { InsightsPage } from './pages/insights.tsx';
import { NewRunPage } from './pages/new-run.tsx';
import { RunPage } from './pages/run.tsx';
import { RunsPage } from './pages/runs.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { SwarmsPage } from './pages/swarms.tsx';
import { Link, usePath } from './ui.tsx';
import './styles.css';

const NAV = [
  ['/runs', 'Runs'],
  ['/new', 'New run'],
  ['/fleets', 'Fleets'],
  ['/swarms', 'Swarms'],
  ['/automations', 'Automations'],
  ['/audit', 'Audit'],
  ['/insights', 'Insights'],
] as const;

function Page(props: { path: string }) {
  const [pathname] = props.path.split('?');
  const parts = (pathname ?? '/').split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
    case 'runs':
      return parts[1] ? <RunPage id={parts[1]} /> : <RunsPage />;
    case 'new':
      return <NewRunPage />;
    case 'fleets':
      return parts[1] ? <FleetPage name={parts[1]} /> : <FleetsPage />;
    case 'swarms':
      return <SwarmsPage />;
    case 'automations':
      return <AutomationsPage />;
    case 'audit':
      return <AuditPage />;
    case 'insights':
      return <InsightsPage />;
    default:
      return <p class="state error">No page at {pathname}.</p>;
  }
}

function App() {
  const [token, setToken] = useState(session.get());
  const path = usePath();
  useEffect(
    () =>
      whenUnauthorized(() => {
        session.clear();
        setToken(null);
      }),
    [],
  );
  // After a move to another page (not on the first load, nor when only the query changes),
  // focus goes to the page's content, so keyboard and screen-reader users start there.
  const pathname = path.split('?')[0];
  const firstPage = useRef(true);
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    document.getElementById('main')?.focus();
  }, [pathname]);
  if (!token) return <SignIn onSignedIn={() => setToken(session.get())} />;
  const section = `/${path.split('/')[1] || 'runs'}`.split('?')[0];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/runs" class="brand">
          ◐ Nightshift
        </Link>
        <nav aria-label="Sections">
          {NAV.map(([href, label]) => (
            <Link key={href} href={href} aria-current={section === href ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            session.clear();
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
