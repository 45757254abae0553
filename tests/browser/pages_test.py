#!/usr/bin/python3
"""dutyhub-web's pages, end to end, in headless Chromium.

Starts a broker (CURVE keys, a simulated clock) and dutyhub-web in a temporary folder,
sends the valid samples, then drives the pages as alice, dan and bob:

   1  alice signs in through the form and sees the two hv-north items
   2  a new notification appears on her open inbox page without a reload
   3  she opens the SCBU discharge, reads the form and acknowledges it
   4  the simulated clock moves on: the hospital liaison item is overdue and escalated
   5  dan sees it overdue on /manager, which redraws as items arrive (one event stream, its
      refreshes marked as the page's own), opens it from there and acknowledges it
   6  bob (hv-south only) is not shown an hv-north item
   7  a change without the CSRF header is refused (403) and changes nothing
   8  the inbox page does not scroll sideways at 320 px
   9  signing in works with the keyboard alone
  10  a note typed as her session ended is kept: signed in again, it is there and acknowledges;
      a reason unsent when someone else acted first is shown once
  11  acknowledging an item dan acknowledged a moment before: the page says he did, with his
      note, and shows her words once, never "you acknowledged"
  12  the broker's and dutyhub-web's logs hold no child's name or NHS number

Run with Debian's python3, python3-selenium, chromium and chromedriver:

  /usr/bin/python3 tests/browser/pages_test.py --broker BIN --cli BIN --web BIN \
      --config config/northshire.yaml --samples config/samples --artifacts DIR

Exit 0 when every check passes; otherwise 1, naming the check that failed. Screenshots and
the two logs are left in DIR.
"""

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request
import uuid

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
START = '2026-11-23T16:00:00Z'
WHOLE_RUN_SECONDS = 170  # a watchdog: the run should take well under two minutes
WAIT = 10                # seconds for any one page condition

PRINCIPALS = ['gwh-ed', 'gwh-scbu', 'northshire-mash', 'alice', 'bob', 'carol', 'sam', 'priya', 'gina',
              'eddie', 'dan', 'erin', 'frank', 'tess', 'web']
SAMPLES = [  # (file, sending agency)
    ('hospital-liaison-non-mobile-injury.json', 'gwh-ed'),
    ('hospital-liaison-school-age.json', 'gwh-ed'),
    ('mash-request-home-visit.json', 'northshire-mash'),
    ('mash-request-gp-information.json', 'northshire-mash'),
    ('mash-request-unborn-midwifery.json', 'northshire-mash'),
    ('scbu-discharge-mental-health-no-meeting.json', 'gwh-scbu'),
    ('scbu-discharge-unknown-area.json', 'gwh-scbu'),
]
WEB_ACCOUNTS = ['alice', 'bob', 'dan']
HL_TEXT = 'Hospital liaison from gwh-ed'
SCBU_TEXT = 'SCBU discharge from gwh-scbu'


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


class WholeRunTooLong(Exception):
    pass


def on_alarm(signum, frame):
    raise WholeRunTooLong('the whole run took over %d s' % WHOLE_RUN_SECONDS)


# ---- the processes -------------------------------------------------------------------------

class Hub:
    """The broker and dutyhub-web in a temporary folder, and the CLI to talk to them."""

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix='dutyhub-browser-')
        self.keys = os.path.join(self.tmp, 'keys')
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('DUTYHUB_')}
        self.children = []  # (name, Popen)
        self.logs = []      # the logs to check for a child's details
        self.endpoint = None
        self.base = None
        self.passwords = {}

    # Runs a command to its end; its stdout, or CheckFailed with what it said.
    def run(self, argv, stdin=None, timeout=30, check=True):
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=self.env)
        if check and done.returncode != 0:
            raise CheckFailed('%s exited %d: %s%s' % (' '.join(argv), done.returncode, done.stdout.strip(),
                                                      ('; stderr: ' + done.stderr.strip()) if done.stderr else ''))
        return done

    def key(self, name):
        return os.path.join(self.keys, name + '.key')

    def cli(self, who, *command):
        argv = [self.args.cli, '--broker', self.endpoint, '--key', self.key(who), '--json'] + list(command)
        out = self.run(argv).stdout
        try:
            return json.loads(out)
        except ValueError:
            raise CheckFailed('%s did not print JSON: %r' % (' '.join(argv), out[:300]))

    def start(self, name, argv):
        log_path = os.path.join(self.tmp, name + '.log')
        log = open(log_path, 'wb')
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.children.append((name, proc))
        self.logs.append(log_path)
        return proc, log_path

    def stop(self):
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    print('%s did not stop on SIGTERM: killing pid %d' % (name, proc.pid), file=sys.stderr)
                    proc.kill()
                    proc.wait(timeout=5)
        self.children = []

    def make_keys(self):
        os.makedirs(self.keys)
        cli = self.args.cli
        pub = self.run([cli, 'keygen', '--out', self.key('broker')]).stdout
        broker_pub = os.path.join(self.keys, 'broker.pub')
        with open(broker_pub, 'w') as f:
            f.write(pub)
        for name in PRINCIPALS:
            pub = self.run([cli, 'keygen', '--out', self.key(name), '--broker-key', broker_pub]).stdout
            with open(os.path.join(self.keys, name + '.pub'), 'w') as f:
                f.write(pub)

    def start_broker(self):
        port = free_port()
        self.endpoint = 'tcp://127.0.0.1:%d' % port
        proc, log = self.start('broker', [
            self.args.broker, '--config', self.args.config, '--data', os.path.join(self.tmp, 'data'),
            '--listen', self.endpoint, '--simulated-clock', START,
            '--key', self.key('broker'), '--keys', self.keys])
        deadline = time.monotonic() + 10
        while True:
            ping = self.run([self.args.cli, '--broker', self.endpoint, '--key', self.key('frank'),
                             '--timeout', '0.2', 'ping'], check=False)
            if ping.returncode == 0:
                return
            if proc.poll() is not None:
                raise CheckFailed('the broker exited %d before answering: %s' % (proc.returncode, tail(log)))
            if time.monotonic() > deadline:
                raise CheckFailed('the broker did not answer a ping within 10 s: %s' % tail(log))
            time.sleep(0.1)

    def send(self, agency, path):
        return self.cli(agency, 'send', path)

    def start_web(self):
        accounts = os.path.join(self.tmp, 'accounts.yaml')
        lines = ['accounts:']
        for name in WEB_ACCOUNTS:
            password = 'pw-%s-%s' % (name, secrets.token_hex(6))
            digest = self.run([self.args.web, 'hash-password'], stdin=password + '\n').stdout.strip()
            require(digest.startswith('$argon2id$'), 'hash-password printed %r' % digest[:40])
            self.passwords[name] = password
            lines.append('  %s: {password: "%s"}' % (name, digest))
        with open(accounts, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        config = os.path.join(self.tmp, 'web.yaml')
        with open(config, 'w') as f:
            f.write('listen: 127.0.0.1:0\nbroker: %s\ngateway: web\nkey: %s\naccounts: %s\n'
                    % (self.endpoint, self.key('web'), accounts))
        proc, log = self.start('web', [self.args.web, '--config', config])
        listening = re.compile(r'dutyhub-web listening on http://127\.0\.0\.1:(\d+);')
        deadline = time.monotonic() + 10
        while True:
            with open(log, errors='replace') as f:
                m = listening.search(f.read())
            if m:
                break
            if proc.poll() is not None:
                raise CheckFailed('dutyhub-web exited %d before listening: %s' % (proc.returncode, tail(log)))
            if time.monotonic() > deadline:
                raise CheckFailed('dutyhub-web did not say where it listens within 10 s: %s' % tail(log))
            time.sleep(0.05)
        self.base = 'http://127.0.0.1:%s' % m.group(1)
        with urllib.request.urlopen(self.base + '/healthz', timeout=5) as r:
            body = r.read().decode()
            require(r.status == 200 and body.strip() == 'ok', '/healthz answered %d %r' % (r.status, body))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tail(path, lines=15):
    try:
        with open(path, errors='replace') as f:
            return ' | '.join(f.read().splitlines()[-lines:])
    except OSError as e:
        return '(no log: %s)' % e


# ---- the browser ---------------------------------------------------------------------------

class Browser:
    def __init__(self, base, tmp, artifacts):
        self.base = base
        self.artifacts = artifacts
        options = Options()
        options.binary_location = CHROMIUM
        for flag in ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                     '--disable-background-networking', '--disable-component-update', '--disable-sync',
                     '--disable-dev-shm-usage', '--window-size=1280,1000',
                     '--user-data-dir=' + os.path.join(tmp, 'chromium-profile')]:
            options.add_argument(flag)
        options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        self.service = Service(executable_path=CHROMEDRIVER, log_path=os.path.join(tmp, 'chromedriver.log'))
        self.driver = webdriver.Chrome(service=self.service, options=options)
        self.driver.set_script_timeout(WAIT)
        self.driver.set_page_load_timeout(WAIT * 2)

    def quit(self):
        try:
            self.driver.quit()
        finally:
            self.service.stop()

    # -- small helpers

    def get(self, path):
        self.driver.get(self.base + path)

    def path(self):
        return urllib.parse.urlparse(self.driver.current_url).path

    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlparse(self.driver.current_url).query)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, condition, message, timeout=WAIT):
        """Waits until condition(driver) is truthy, ignoring elements re-drawn under us."""
        def attempt(driver):
            try:
                return condition(driver)
            except (NoSuchElementException, StaleElementReferenceException):
                return False
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(attempt)
        except TimeoutException:
            # The page's headings and banners, not its text: an item page shows a child's
            # details, which test output must not hold (the screenshot kept has them all).
            raise CheckFailed('%s (waited %d s; at %s; the page shows: %s)'
                              % (message, timeout, self.driver.current_url, self.outline()[:400]))

    def outline(self):
        try:
            return ' | '.join(' '.join(t.split()) for t in self.js(
                "return [...document.querySelectorAll('#main h1, #main h2, #main .banner')]"
                ".map((e) => e.innerText);"))
        except WebDriverException:
            return '(unreadable)'

    def wait_for_path(self, path, timeout=WAIT):
        self.wait(lambda d: self.path() == path, 'the browser did not reach %s' % path, timeout)

    def main_text(self):
        try:
            return ' '.join(self.js("const m = document.getElementById('main'); return m ? m.innerText : '';").split())
        except WebDriverException:
            return '(unreadable)'

    def text(self, selector):
        return ' '.join(self.driver.find_element(By.CSS_SELECTOR, selector).text.split())

    def stray_text(self):
        """Text the page script put straight into #main (it only ever puts elements there):
        such as "null" for a part of the page that is not there."""
        return self.js("""
            const m = document.getElementById('main');
            return [...m.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim())
              .map((n) => n.textContent.trim());""")

    def require_whole(self, page):
        stray = self.stray_text()
        require(not stray, '%s shows stray text %s' % (page, stray))
        whole = self.main_text()
        at = whole.find('[object ')
        require(at < 0, '%s shows %r where its content should be' % (page, whole[at:at + 60]))

    def exists(self, selector):
        return len(self.driver.find_elements(By.CSS_SELECTOR, selector)) > 0

    def click(self, find, message):
        """Clicks the element find(driver) gives, again if the page re-drew it meanwhile."""
        def attempt(driver):
            element = find(driver)
            if element is None:
                return False
            element.click()
            return True
        self.wait(attempt, message)

    def link(self, container, text, delivery_id=None):
        """The `h2 a` link of the list item in `container` with that text (and delivery id)."""
        def find(driver):
            for li in driver.find_elements(By.CSS_SELECTOR, container + ' > li.item'):
                if delivery_id and li.get_attribute('data-delivery-id') != delivery_id:
                    continue
                a = li.find_element(By.CSS_SELECTOR, 'h2 a')
                if ' '.join(a.text.split()) == text:
                    return a
            return None
        return find

    def list_items(self, container='#items'):
        """[(delivery id, link text, the item's whole text, its classes)] as the page shows them now."""
        return self.js("""
            return [...document.querySelectorAll(arguments[0] + ' > li.item')].map((li) => {
              const a = li.querySelector('h2 a');
              return [li.dataset.deliveryId, a ? a.textContent.trim() : null,
                      li.innerText.replace(/\\s+/g, ' ').trim(), li.className];
            });""", container)

    def inbox_ready(self):
        """The inbox page has drawn its list at least once."""
        return self.exists('#items') and self.text('#count') != ''

    def screenshot(self, name):
        path = os.path.join(self.artifacts, name + '.png')
        try:  # the whole page, not only what fits in the window
            metrics = self.driver.execute_cdp_cmd('Page.getLayoutMetrics', {})
            size = metrics.get('cssContentSize') or metrics['contentSize']
            shot = self.driver.execute_cdp_cmd('Page.captureScreenshot', {
                'format': 'png', 'captureBeyondViewport': True,
                'clip': {'x': 0, 'y': 0, 'width': size['width'], 'height': size['height'], 'scale': 1}})
            with open(path, 'wb') as f:
                f.write(base64.b64decode(shot['data']))
        except (WebDriverException, KeyError):
            self.driver.save_screenshot(path)
        return path

    # -- signing in and out

    def sign_in(self, account, password, lands_on):
        self.get('/sign-in')
        self.submit_sign_in(account, password)
        require(self.path() == lands_on, '%s landed on %s, not %s' % (account, self.path(), lands_on))
        self.wait(lambda d: ('Signed in as ' + account) in self.text('#nav'),
                  'the navigation does not say "Signed in as %s"' % account)

    def submit_sign_in(self, account, password):
        """Fills and sends the sign-in form of the page the browser is on (its ?next= stays)."""
        self.wait(lambda d: self.exists('#account') and self.exists('#password'), 'the sign-in form did not appear')
        self.driver.find_element(By.ID, 'account').send_keys(account)
        self.driver.find_element(By.ID, 'password').send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, 'form button[type=submit]').click()
        self.wait(lambda d: self.path() != '/sign-in', '%s was not signed in' % account)

    def sign_out(self):
        self.click(lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, '#nav button')
                                   if b.text.strip() == 'Sign out'), None),
                   'there is no "Sign out" button in the navigation')
        self.wait_for_path('/sign-in')
        self.wait(lambda d: self.exists('#account'), 'the sign-in form did not appear after signing out')

    def console_errors(self):
        try:
            return [e['message'] for e in self.driver.get_log('browser') if e.get('level') == 'SEVERE']
        except WebDriverException:
            return []


# ---- the checks ----------------------------------------------------------------------------

class PagesTest:
    def __init__(self, args):
        self.args = args
        self.hub = Hub(args)
        self.browser = None
        self.results = {}  # number -> (ok or FAIL, name, what went wrong)
        self.setup_problem = None
        self.sent = {}  # sample file -> the send reply
        self.sample_json = {}

    def send_fresh(self, sample, agency, inbox):
        """A copy of `sample` with a new id, sent as `agency`: its delivery id in `inbox`."""
        fresh = dict(self.sample_json[sample])
        fresh['id'] = str(uuid.uuid4())
        path = os.path.join(self.hub.tmp, fresh['id'] + '.json')
        with open(path, 'w') as f:
            json.dump(fresh, f)
        reply = self.hub.send(agency, path)
        ids = [d['delivery_id'] for d in reply['deliveries'] if d['inbox'] == inbox]
        require(len(ids) == 1, 'a fresh copy of %s did not reach %s once: %s' % (sample, inbox, reply))
        return ids[0]

    def delivery(self, sample, inbox):
        for d in self.sent[sample]['deliveries']:
            if d['inbox'] == inbox:
                return d['delivery_id']
        raise CheckFailed('%s did not reach %s: %s' % (sample, inbox, self.sent[sample]))

    def setup(self):
        hub = self.hub
        hub.make_keys()
        hub.start_broker()
        for sample, agency in SAMPLES:
            path = os.path.join(self.args.samples, sample)
            with open(path) as f:
                self.sample_json[sample] = json.load(f)
            self.sent[sample] = hub.send(agency, path)
        self.hl = self.delivery('hospital-liaison-non-mobile-injury.json', 'hv-north')
        self.scbu = self.delivery('scbu-discharge-mental-health-no-meeting.json', 'hv-north')
        self.south = self.delivery('mash-request-home-visit.json', 'hv-south')
        inbox = hub.cli('alice', 'inbox', 'hv-north')
        found = sorted((i['delivery_id'], i['type'], i['from'], i['priority']) for i in inbox['items'])
        expected = sorted([(self.hl, 'HOSPITAL_LIAISON', 'gwh-ed', 'IMMEDIATE'),
                           (self.scbu, 'SCBU_DISCHARGE', 'gwh-scbu', 'URGENT')])
        require(found == expected, 'after sending the samples hv-north holds %s, not %s' % (found, expected))
        hl_due = [i['due_at'] for i in inbox['items'] if i['delivery_id'] == self.hl]
        require(hl_due == ['2026-11-23T16:15:00Z'], 'the hospital liaison item is due %s, not 16:15' % hl_due)
        hub.start_web()
        self.browser = Browser(hub.base, hub.tmp, self.args.artifacts)

    # The checks in order; each needs the ones before it. The last reads the logs once the
    # processes have stopped.
    CHECKS = [
        (1, 'alice signs in through the form and sees the two hv-north items', 'alice_inbox'),
        (2, 'a new hv-north item appears on her open inbox page without a reload, announced', 'live_update'),
        (3, 'alice reads the SCBU discharge form and acknowledges it; it leaves her list', 'alice_acknowledges'),
        (4, 'after 20 simulated minutes the hospital liaison item is overdue and escalated to level 1',
         'clock_moves'),
        (5, 'dan sees the overdue item on /manager, acknowledges it from there, and it is gone', 'manager'),
        (6, 'bob (hv-south only) is not shown an hv-north item', 'bob_not_shown'),
        (7, 'a change without the CSRF header is refused with 403 and changes nothing', 'csrf'),
        (8, 'the inbox page does not scroll sideways at 320 px', 'narrow'),
        (9, 'signing in works with the keyboard alone', 'keyboard'),
        (10, 'a note alice typed as her session ended is kept: signed in again, it is there and acknowledges',
         'note_kept'),
        (11, 'alice acknowledging an item dan acknowledged a moment before is told so, with his note, and '
             'shown her own words', 'acknowledged_first'),
    ]
    LOG_CHECK = (12, "the broker's and dutyhub-web's logs hold no child's name or NHS number", 'logs_hold_no_details')

    def check(self, number, name, method):
        """Runs one check; records and returns None when it passes, else what went wrong."""
        print('... %d %s' % (number, name), file=sys.stderr, flush=True)
        try:
            getattr(self, method)()
        except CheckFailed as e:
            problem = str(e)
        except WebDriverException as e:
            problem = 'in the browser: %s' % (e.msg or e)
        except WholeRunTooLong as e:
            problem = str(e)
        except Exception:
            problem = 'the test itself broke:\n' + traceback.format_exc()
        else:
            self.results[number] = ('ok', name, None)
            return None
        self.results[number] = ('FAIL', name, problem)
        return problem

    def run(self):
        """The checks until the first that fails; True when all passed."""
        try:
            self.setup()
        except (CheckFailed, WebDriverException, WholeRunTooLong, OSError, subprocess.SubprocessError) as e:
            self.setup_problem = 'setting up failed: %s' % (getattr(e, 'msg', None) or e)
            return False
        for number, name, method in self.CHECKS:
            if self.check(number, name, method) is not None:
                return False
        return True

    # 1
    def alice_inbox(self):
        b = self.browser
        b.sign_in('alice', self.hub.passwords['alice'], '/inbox/hv-north')
        b.wait(lambda d: b.inbox_ready(), 'the inbox page did not draw its list')
        items = b.list_items()
        require(sorted((i[0], i[1]) for i in items) == sorted([(self.hl, HL_TEXT), (self.scbu, SCBU_TEXT)]),
                'hv-north shows %s, not exactly the hospital liaison %s and the SCBU discharge %s'
                % ([i[:2] for i in items], self.hl, self.scbu))
        for delivery_id, _, _, _ in items:
            href = b.driver.find_element(By.CSS_SELECTOR, '#items li[data-delivery-id="%s"] h2 a' % delivery_id)
            require(href.get_attribute('href') == self.hub.base + '/items/' + delivery_id,
                    'the link of %s goes to %s' % (delivery_id, href.get_attribute('href')))
        count = b.text('#count')
        require(count.startswith('2 items outstanding, 0 overdue.'), '#count says %r' % count)
        b.require_whole('the inbox page')
        b.screenshot('01-alice-inbox')

    # 2
    def live_update(self):
        b, hub = self.browser, self.hub
        # The page subscribes after drawing its list, and dutyhub-web asks the broker to watch
        # the inbox on the first subscription. Wait until the stream is open, then until an
        # event is seen to re-draw the list (alice's opening of the SCBU item, which she is
        # about to do anyway), so the test does not race the subscription.
        b.wait(lambda d: b.js('return typeof state === "object" && state.events ? state.events.readyState : -1') == 1,
               'the inbox page did not open its event stream /api/events')
        deadline = time.monotonic() + WAIT
        while True:
            b.js("document.querySelectorAll('#items > li.item').forEach((li) => { li.dataset.probe = '1'; });")
            hub.cli('alice', 'show', self.scbu)
            try:
                b.wait(lambda d: b.js("return document.querySelectorAll('#items > li.item').length > 0 && "
                                      "!document.querySelector('#items > li.item[data-probe]');"),
                       'no re-draw', timeout=1)
                break
            except CheckFailed:
                if time.monotonic() > deadline:
                    raise CheckFailed('the inbox page never re-drew on an event in hv-north (an opening)')
        require(b.path() == '/inbox/hv-north', 'the page moved to %s' % b.driver.current_url)
        b.js("window.__sameDocument = 'yes';")  # gone if the page reloads

        new_id = self.send_fresh('hospital-liaison-non-mobile-injury.json', 'gwh-ed', 'hv-north')
        b.wait(lambda d: len(b.list_items()) == 3, 'the open page did not show a third item', timeout=15)
        b.wait(lambda d: 'hv-north' in b.text('#announcer'),
               '#announcer does not mention hv-north (it says %r)' % b.js(
                   "return document.getElementById('announcer').textContent"), timeout=5)
        require(b.js('return window.__sameDocument') == 'yes', 'the page was reloaded to show the new item')
        items = {i[0]: i for i in b.list_items()}
        require(set(items) == {self.hl, self.scbu, new_id}, 'the list shows %s' % list(items))
        require(items[new_id][1] == HL_TEXT, 'the new item reads %r' % items[new_id][1])
        require('fresh' in items[new_id][3].split(), 'the new item is not marked fresh (%r)' % items[new_id][3])
        count = b.text('#count')
        require(count.startswith('3 items outstanding'), '#count says %r' % count)
        b.screenshot('02-live-update')
        # Back to the two originals: alice acknowledges the extra item at the command line.
        hub.cli('alice', 'ack', new_id, '--note', 'Duplicate of the earlier liaison; dealt with there.')
        b.wait(lambda d: sorted(i[0] for i in b.list_items()) == sorted([self.hl, self.scbu]),
               'the open page did not drop the item acknowledged at the command line')

    # 3
    def alice_acknowledges(self):
        b = self.browser
        b.click(b.link('#items', SCBU_TEXT, self.scbu), 'there is no SCBU discharge link to click')
        b.wait_for_path('/items/' + self.scbu)
        b.wait(lambda d: b.exists('#s-child') and b.exists('form#acknowledge'), 'the item page did not draw the form')
        b.screenshot('03-scbu-item')
        headings = [' '.join(h.text.split()) for h in b.driver.find_elements(By.CSS_SELECTOR, '#main h2')]
        for wanted in ['The child', 'The household', 'Concerns', 'SCBU discharge', 'Acknowledge']:
            require(wanted in headings, 'the item page has no "%s" heading (it has %s)' % (wanted, headings))
        father = b.text('.father-status')
        require(father.startswith("Father's status:") and 'recorded' in father,
                'the household box says %r' % father)
        require(b.exists('form#transfer'), 'there is no transfer form')
        b.require_whole('the item page')
        child = self.sample_json['scbu-discharge-mental-health-no-meeting.json']['child']
        fields = b.js("""
            const out = {};
            document.querySelectorAll('section[aria-labelledby=s-child] dl.fields > dt').forEach((dt) => {
              const dd = dt.nextElementSibling;
              out[dt.textContent.trim()] = dd && dd.tagName === 'DD' ? dd.textContent.trim() : null;
            });
            return out;""")
        name = '%s %s' % (child['given_name'], child['family_name'])
        require(fields.get('Name') == name and fields.get('NHS number') == child['nhs_number'],
                'the child\'s section does not give Name %r and NHS number %r: it shows %s (%r)'
                % (name, child['nhs_number'], fields, b.text('section[aria-labelledby=s-child]')[:120]))
        note = b.driver.find_element(By.ID, 'note')
        note.send_keys('Will ring the family today and book a new-birth visit this week.')
        b.driver.find_element(By.CSS_SELECTOR, 'form#acknowledge button[type=submit]').click()
        b.wait_for_path('/inbox/hv-north')
        require(b.query().get('acknowledged') == [self.scbu], 'the page is %s' % b.driver.current_url)
        b.wait(lambda d: b.inbox_ready() and 'You acknowledged the item' in b.main_text(),
               'the inbox shows no acknowledgement banner')
        items = b.list_items()
        require([(i[0], i[1]) for i in items] == [(self.hl, HL_TEXT)],
                'after acknowledging, hv-north shows %s, not the hospital liaison item alone' % [i[:2] for i in items])
        b.screenshot('04-inbox-after-acknowledge')

    # 4
    def clock_moves(self):
        hub = self.hub
        hub.run([self.args.cli, '--broker', hub.endpoint, '--key', hub.key('frank'), 'admin', 'advance-clock', '20m'])
        overdue = hub.cli('dan', 'overdue')
        mine = [i for i in overdue['items'] if i['delivery_id'] == self.hl]
        require(len(mine) == 1, 'dan\'s overdue list does not hold the hospital liaison item: %s' % overdue)
        require(mine[0]['overdue_seconds'] >= 300, 'it is overdue by %s s only' % mine[0]['overdue_seconds'])
        require(mine[0]['escalation_level'] == 1, 'it is at escalation level %s' % mine[0]['escalation_level'])
        managers = hub.cli('dan', 'inbox', 'hv-managers')
        copy = [i for i in managers['items'] if i['notification_id'] == self.sent[
            'hospital-liaison-non-mobile-injury.json']['id'] and i.get('escalated_from') == 'hv-north']
        require(len(copy) == 1, 'hv-managers does not hold the escalated item: %s' % managers)

    # 5
    def manager(self):
        b, hub = self.browser, self.hub
        b.sign_out()
        b.sign_in('dan', hub.passwords['dan'], '/inbox/hv-managers')
        b.click(lambda d: next((a for a in d.find_elements(By.CSS_SELECTOR, '#nav a')
                                if a.text.strip() == 'Manager'), None), 'there is no "Manager" link')
        b.wait_for_path('/manager')
        b.wait(lambda d: b.exists('#overdue'), 'the manager page did not draw #overdue')
        require(b.driver.find_element(By.ID, 'overdue').tag_name == 'ul',
                '#overdue says %r' % b.text('#overdue'))
        items = {i[0]: i for i in b.list_items('#overdue')}
        require(self.hl in items, '#overdue does not list the hospital liaison item: %s' % list(items.values()))
        require(items[self.hl][1] == HL_TEXT, 'its link reads %r' % items[self.hl][1])
        require('Overdue by' in items[self.hl][2], 'it does not say it is overdue: %r' % items[self.hl][2])
        require('Escalation level 1' in items[self.hl][2], 'it does not show level 1: %r' % items[self.hl][2])
        for chart in ['chart-7', 'chart-30', 'chart-escalations']:
            require(b.exists('figure#%s svg' % chart), 'there is no chart figure#%s' % chart)
        csv = [a.get_attribute('href') for a in b.driver.find_elements(By.CSS_SELECTOR, '#main a[download]')]
        require(any('/api/report.csv' in href for href in csv), 'there is no CSV download link (%s)' % csv)
        counts = b.text('ul.counts')
        require('hv-north' in counts and 'hv-south' in counts and 'school-nursing' in counts,
                'the counts are not per inbox dan manages: %r' % counts)
        b.screenshot('05-manager-overdue')
        b.require_whole('the manager page')

        # Live: items arriving redraw the page through the one event stream it opened (a new
        # stream per redraw runs into dutyhub-web's bound per session, and the browser then
        # gives up on it for good), each redraw marked as the page's own refresh, which keeps
        # no unattended session signed in.
        b.js("state.events.__probe = 'first'; window.__refreshes = [];"
             "const f = window.fetch; window.fetch = (u, o) => {"
             "  window.__refreshes.push([String(u), (o && o.headers && o.headers['X-Dutyhub-Refresh']) || null]);"
             "  return f(u, o); };")
        outstanding = ("const li = [...document.querySelectorAll('ul.counts > li')]"
                       ".find((l) => l.querySelector('h3').textContent.trim() === 'hv-north');"
                       "return li ? Number(li.querySelector('.big').textContent) : -1;")
        before = b.js(outstanding)
        scbu = 'scbu-discharge-mental-health-no-meeting.json'
        arrived = [self.send_fresh(scbu, 'gwh-scbu', 'hv-north') for _ in range(6)]
        b.wait(lambda d: b.js(outstanding) == before + 6,
               'the manager page did not count the six new hv-north items (it shows %s, was %s)'
               % (b.js(outstanding), before), timeout=15)
        require(b.js('return state.events && state.events.__probe') == 'first',
                'the manager page opened a new event stream to redraw')
        require(b.path() == '/manager', 'the page moved to %s' % b.driver.current_url)
        refreshes = b.js('return window.__refreshes')
        require(any(u.endswith('/api/manager') and mark == 'background' for u, mark in refreshes),
                'the redraws were not marked as the page\'s own refreshes: %s' % refreshes)
        for item in arrived:
            hub.cli('alice', 'ack', item, '--note', 'Seen; booked in with the family.')
        b.wait(lambda d: b.js(outstanding) == before, 'the manager page did not count the six acknowledged')

        b.click(b.link('#overdue', HL_TEXT, self.hl), 'there is no link to the overdue item')
        b.wait_for_path('/items/' + self.hl)
        b.wait(lambda d: b.exists('#s-child') and b.exists('form#acknowledge'), 'the item page did not draw the form')
        b.driver.find_element(By.ID, 'note').send_keys('Manager: rang the duty health visitor; home visit today.')
        b.driver.find_element(By.CSS_SELECTOR, 'form#acknowledge button[type=submit]').click()
        b.wait_for_path('/manager')
        require(b.query().get('acknowledged') == [self.hl], 'the page is %s' % b.driver.current_url)
        b.wait(lambda d: b.exists('#overdue') and 'You acknowledged the item' in b.main_text(),
               'the manager page shows no acknowledgement banner')
        left = [i[0] for i in b.list_items('#overdue')]
        require(self.hl not in left, '#overdue still lists the acknowledged item')
        inbox = hub.cli('dan', 'inbox', 'hv-north')
        liaison = [i for i in inbox['items'] if i['type'] == 'HOSPITAL_LIAISON']
        require(not liaison, 'hv-north still holds an outstanding hospital liaison item: %s' % liaison)
        b.screenshot('06-manager-after-acknowledge')

    # 6
    def bob_not_shown(self):
        b, hub = self.browser, self.hub
        b.sign_out()
        b.sign_in('bob', hub.passwords['bob'], '/inbox/hv-south')
        for sample, delivery_id in [('hospital-liaison-non-mobile-injury.json', self.hl),
                                    ('scbu-discharge-mental-health-no-meeting.json', self.scbu)]:
            b.get('/items/' + delivery_id)
            b.wait(lambda d: b.exists('#main h1') and b.text('#main h1') != '', 'the item page drew nothing')
            heading = b.text('#main h1')
            require(heading == 'Item not shown', 'bob sees the heading %r for %s' % (heading, delivery_id))
            alert = b.text('#main [role=alert]') if b.exists('#main [role=alert]') else ''
            require('neither a member nor a manager' in alert, 'the alert says %r' % alert)
            whole = b.js('return document.body.innerText')
            child = self.sample_json[sample]['child']
            digits = child['nhs_number'].replace(' ', '')
            for secret in ['The child', child['given_name'], child['family_name'], digits,
                           '%s %s %s' % (digits[:3], digits[3:6], digits[6:])]:
                require(secret not in whole, 'bob\'s page for %s shows %r' % (delivery_id, secret))
            require(not b.exists('#s-child') and not b.exists('form#acknowledge'), 'bob\'s page holds the form')
            if delivery_id == self.hl:
                b.screenshot('07-bob-item-not-shown')

    # 7
    def csrf(self):
        b, hub = self.browser, self.hub
        require('Signed in as bob' in b.text('#nav'), 'bob is not signed in')
        me = b.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/api/me').then((r) => done(r.status), (e) => done(String(e)));""")
        require(me == 200, 'bob\'s session is not live: /api/me answered %s' % me)
        answer = b.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/api/items/' + arguments[0] + '/acknowledge', {method: 'POST',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify({note: 'x'})})
              .then(async (r) => done({status: r.status, body: await r.text()}), (e) => done({error: String(e)}));""",
            self.south)
        require(answer.get('status') == 403, 'a POST without X-CSRF-Token answered %s' % answer)
        shown = hub.cli('bob', 'show', self.south)
        state = shown['delivery']['state']
        require(state != 'ACKNOWLEDGED', 'the item was acknowledged anyway (%s)' % state)
        require(shown['delivery']['inbox'] == 'hv-south', 'the item is in %s' % shown['delivery']['inbox'])

    # 8
    def narrow(self):
        b = self.browser
        d = b.driver
        d.set_window_size(320, 900)
        b.get('/inbox/hv-south')
        b.wait(lambda _: b.inbox_ready(), 'the inbox page did not draw its list')
        emulated = False
        if b.js('return window.innerWidth') != 320:
            d.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                              {'width': 320, 'height': 900, 'deviceScaleFactor': 1, 'mobile': True})
            emulated = True
            b.get('/inbox/hv-south')
            b.wait(lambda _: b.inbox_ready(), 'the inbox page did not draw its list at 320 px')
        try:
            width = b.js('return window.innerWidth')
            require(width == 320, 'the page is %s px wide, not 320' % width)
            items = b.list_items()
            require([i[0] for i in items] == [self.south], 'hv-south shows %s' % items)
            scroll = b.js('return document.documentElement.scrollWidth')
            wide = b.js("""
                return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 320.5)
                  .slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                                   (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
                                   ' right=' + Math.round(e.getBoundingClientRect().right));""")
            require(scroll <= 320, 'the page scrolls sideways: scrollWidth %s > 320 (too wide: %s)' % (scroll, wide))
            b.screenshot('08-narrow-320')
        finally:
            if emulated:
                d.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})
            d.set_window_size(1280, 1000)

    # 9
    def keyboard(self):
        b = self.browser
        d = b.driver
        b.sign_out()
        b.wait(lambda _: b.js('return document.activeElement && document.activeElement.tagName') is not None,
               'nothing has focus')
        active = lambda: b.js('return document.activeElement ? document.activeElement.id : null')
        for _ in range(12):
            if active() == 'account':
                break
            ActionChains(d).send_keys(Keys.TAB).perform()
        require(active() == 'account', 'Tab never reached the account field (focus is on %r)' % active())
        ActionChains(d).send_keys('alice').perform()
        ActionChains(d).send_keys(Keys.TAB).perform()
        require(active() == 'password', 'Tab from the account field went to %r, not the password' % active())
        ActionChains(d).send_keys(self.hub.passwords['alice']).perform()
        ActionChains(d).send_keys(Keys.ENTER).perform()
        b.wait(lambda _: b.path() != '/sign-in', 'Enter did not sign alice in')
        require(b.path() == '/inbox/hv-north', 'alice landed on %s' % b.path())
        b.wait(lambda _: 'Signed in as alice' in b.text('#nav'), 'the navigation does not say alice is signed in')
        b.wait(lambda _: b.inbox_ready(), 'the inbox page did not draw its list')
        require(b.text('#count') == 'Nothing is outstanding in this inbox.', '#count says %r' % b.text('#count'))
        b.screenshot('09-keyboard-signed-in')

    # 10
    def note_kept(self):
        b, hub = self.browser, self.hub
        require('Signed in as alice' in b.text('#nav'), 'alice is not signed in')
        scbu = 'scbu-discharge-mental-health-no-meeting.json'
        item = self.send_fresh(scbu, 'gwh-scbu', 'hv-north')
        b.get('/items/' + item)
        b.wait(lambda d: b.exists('form#acknowledge'), 'the item page did not draw the acknowledge form')
        # Another person's draft left in this tab: alice signing in must drop it unseen.
        b.js("sessionStorage.setItem('dutyhub-draft:bob:' + arguments[0] + ':note', "
             "JSON.stringify({text: 'words of bob', at: Date.now()}));", item)
        words = 'Rang the ward: visiting tomorrow at ten with the perinatal mental health team.'
        b.driver.find_element(By.ID, 'note').send_keys(words)
        # Her session ends on the server while she writes, as after 30 idle minutes or a
        # restart of dutyhub-web; the browser still holds its cookie.
        cookie = b.driver.get_cookie('dutyhub_session')
        require(cookie is not None, 'the browser holds no dutyhub_session cookie')
        ended = urllib.request.Request(hub.base + '/api/sign-out', data=b'{}', method='POST', headers={
            'Cookie': 'dutyhub_session=' + cookie['value'], 'Content-Type': 'application/json',
            'X-CSRF-Token': b.js('return state.me.csrf')})
        with urllib.request.urlopen(ended, timeout=5) as r:
            require(r.status == 200, 'signing the session out answered %s' % r.status)
        b.driver.find_element(By.CSS_SELECTOR, 'form#acknowledge button[type=submit]').click()
        b.wait_for_path('/sign-in')
        require(b.query().get('next') == ['/items/' + item], 'the sign-in page is %s' % b.driver.current_url)
        b.submit_sign_in('alice', hub.passwords['alice'])
        b.wait_for_path('/items/' + item)
        try:
            b.wait(lambda d: b.exists('#note') and b.js("return document.getElementById('note').value") == words,
                   'her note was not put back')
        except CheckFailed as e:
            raise CheckFailed('%s; the field holds %r' % (e, b.js(
                "const n = document.getElementById('note'); return n ? n.value : null")))
        require('Your unsent note was kept' in b.text('form#acknowledge'), 'the form does not say her note was kept')
        require(b.js("return sessionStorage.getItem('dutyhub-draft:bob:' + arguments[0] + ':note')", item) is None,
                "another person's draft survived alice signing in")
        b.screenshot('10-note-kept')
        b.driver.find_element(By.CSS_SELECTOR, 'form#acknowledge button[type=submit]').click()
        b.wait_for_path('/inbox/hv-north')
        require(b.query().get('acknowledged') == [item], 'the page is %s' % b.driver.current_url)
        shown = hub.cli('alice', 'show', item)
        acks = [(e['by'], e['note']) for e in shown['history'] if e['event'] == 'ACKNOWLEDGED']
        require(shown['delivery']['state'] == 'ACKNOWLEDGED' and acks == [('alice', words)],
                'the item is %s, acknowledged %s' % (shown['delivery']['state'], acks))
        left = b.js("return Object.keys(sessionStorage).filter((k) => k.startsWith('dutyhub-draft:'))")
        require(left == [], 'drafts are left in the tab after acknowledging: %s' % left)

        # A transfer reason she is writing when someone acts on the item first (here at the
        # command line): the item's page then shows her unsent words once, and drops them.
        other = self.send_fresh(scbu, 'gwh-scbu', 'hv-north')
        b.get('/items/' + other)
        b.wait(lambda d: b.exists('#reason'), 'the item page did not draw the transfer form')
        reason = 'This family has moved to the south locality.'
        b.driver.find_element(By.ID, 'reason').send_keys(reason)
        hub.cli('alice', 'ack', other, '--note', 'Dealt with by phone.')
        b.get('/items/' + other)
        b.wait(lambda d: 'This item is acknowledged' in b.main_text(), 'the page does not say it is acknowledged')
        require(('What you had written but not sent: ' + reason) in b.main_text(),
                'the page does not show her unsent reason')
        require(not b.exists('form#acknowledge') and not b.exists('form#transfer'),
                'an item no longer outstanding still offers its forms')
        b.get('/items/' + other)
        b.wait(lambda d: 'This item is acknowledged' in b.main_text(), 'the page does not say it is acknowledged')
        require('not sent' not in b.main_text(), 'her unsent reason is shown a second time')

    # 11
    def acknowledged_first(self):
        b, hub = self.browser, self.hub
        require('Signed in as alice' in b.text('#nav'), 'alice is not signed in')
        item = self.send_fresh('scbu-discharge-mental-health-no-meeting.json', 'gwh-scbu', 'hv-north')
        b.get('/items/' + item)
        b.wait(lambda d: b.exists('form#acknowledge'), 'the item page did not draw the acknowledge form')
        words = 'Will visit tomorrow morning with the perinatal team.'
        b.driver.find_element(By.ID, 'note').send_keys(words)
        dans = 'Rang the duty health visitor; visit today.'
        hub.cli('dan', 'ack', item, '--note', dans)
        b.driver.find_element(By.CSS_SELECTOR, 'form#acknowledge button[type=submit]').click()
        b.wait(lambda d: b.exists('#not-outstanding'), 'the page does not say the item is no longer outstanding')
        require(b.path() == '/items/' + item, 'the page moved to %s' % b.driver.current_url)
        said = b.text('#not-outstanding')
        require('by dan' in said and dans in said, 'the page does not say dan acknowledged it, with his note: %r' % said)
        require(('What you had written but not sent: ' + words) in said, 'her words are not shown: %r' % said)
        require('You acknowledged' not in b.main_text(), 'the page tells alice she acknowledged it')
        shown = hub.cli('alice', 'show', item)
        acks = [(e['by'], e['note']) for e in shown['history'] if e['event'] == 'ACKNOWLEDGED']
        require(acks == [('dan', dans)], 'the item was acknowledged %s' % acks)
        b.screenshot('11-acknowledged-first')

    # 12, after the processes have stopped
    def logs_hold_no_details(self):
        secrets_ = set()
        for sample in self.sample_json.values():
            child = sample.get('child', {})
            for field in ['given_name', 'family_name']:
                if child.get(field):
                    secrets_.add(child[field])
            if child.get('nhs_number'):
                digits = child['nhs_number'].replace(' ', '')
                secrets_.add(digits)
                secrets_.add('%s %s %s' % (digits[:3], digits[3:6], digits[6:]))
        stamp = re.compile(r'^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] ')
        found = []
        for path in self.hub.logs:
            with open(path, errors='replace') as f:
                lines = [stamp.sub('', line) for line in f.read().splitlines()]
            for number, line in enumerate(lines, 1):
                for secret in secrets_:
                    edge = r'\d' if secret[0].isdigit() else r'[A-Za-z]'
                    if re.search(r'(?<!%s)%s(?!%s)' % (edge, re.escape(secret), edge), line):
                        found.append('%s:%d holds %r: %s' % (os.path.basename(path), number, secret, line[:200]))
        require(self.hub.logs, 'no logs were collected')
        require(not found, 'a log holds a child\'s details: ' + '; '.join(found[:10]))

    def teardown(self, failed):
        try:
            if self.browser:
                if failed:
                    self.keep_failing_page()
                try:
                    self.browser.quit()
                except Exception as e:
                    print('chromedriver did not stop cleanly: %s' % e, file=sys.stderr)
        finally:
            self.hub.stop()
            for path in self.hub.logs:
                if os.path.exists(path):
                    shutil.copy(path, os.path.join(self.args.artifacts, os.path.basename(path)))
                    # And to the suite's log folder, whose last test reads every log for
                    # every personal detail in the samples (not only the names checked here).
                    if self.args.logs:
                        os.makedirs(self.args.logs, exist_ok=True)
                        kind = 'broker' if 'broker' in os.path.basename(path) else 'web'
                        shutil.copy(path, os.path.join(self.args.logs, '%s-browser-%d.log' % (kind, os.getpid())))

    def keep_failing_page(self):
        try:
            self.browser.screenshot('failure')
            with open(os.path.join(self.args.artifacts, 'failure.html'), 'w') as f:
                f.write(self.browser.driver.page_source)
            errors = self.browser.console_errors()
            if errors:
                print('browser console errors:\n  ' + '\n  '.join(errors), file=sys.stderr)
        except Exception as e:  # the failure itself matters more
            print('could not keep the failing page: %s' % e, file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    for flag in ['--broker', '--cli', '--web', '--config', '--samples', '--artifacts']:
        parser.add_argument(flag, required=True)
    parser.add_argument('--keep', action='store_true', help='keep the temporary folder')
    parser.add_argument('--logs', help="also copy the broker's and dutyhub-web's logs here (the suite's log check)")
    args = parser.parse_args()
    for name in ['broker', 'cli', 'web', 'config', 'samples', 'artifacts']:
        setattr(args, name, os.path.abspath(getattr(args, name)))
    for name in ['broker', 'cli', 'web']:
        if not os.access(getattr(args, name), os.X_OK):
            print('FAIL: --%s %s is not an executable' % (name, getattr(args, name)))
            return 1
    os.makedirs(args.artifacts, exist_ok=True)

    started = time.monotonic()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(WHOLE_RUN_SECONDS)
    test = PagesTest(args)
    try:
        all_passed = False
        try:
            all_passed = test.run()
        except WholeRunTooLong as e:
            test.setup_problem = str(e)
        finally:
            signal.alarm(0)  # stopping is bounded by its own timeouts, and must finish
            test.teardown(not all_passed)
        test.check(*test.LOG_CHECK)
    finally:
        signal.alarm(0)
        if args.keep:
            print('kept %s' % test.hub.tmp)
        else:
            shutil.rmtree(test.hub.tmp, ignore_errors=True)
    elapsed = time.monotonic() - started

    if test.setup_problem:
        print('FAIL setup: %s' % test.setup_problem)
    failed = bool(test.setup_problem)
    for number, name, _ in test.CHECKS + [test.LOG_CHECK]:
        outcome, _, problem = test.results.get(number, ('not run', name, None))
        if problem:
            failed = True
            print('FAIL %d %s: %s' % (number, name, problem))
        elif outcome == 'not run':
            failed = True
            print('not run %d %s (an earlier check failed)' % (number, name))
        else:
            print('ok %d %s' % (number, name))
    passed = sum(1 for r in test.results.values() if r[0] == 'ok')
    print('%s: %d of %d checks passed in %.1f s; screenshots and logs in %s'
          % ('FAIL' if failed else 'PASS', passed, len(test.CHECKS) + 1, elapsed, args.artifacts))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
